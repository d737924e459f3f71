from pathlib import Path

import pytest

from ownfeed.config import add_source, base_url_problem, load_config
from ownfeed.errors import ConfigError

ROOT = Path(__file__).parent.parent


def write(tmp_path, text):
    path = tmp_path / "ownfeed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads():
    config = load_config(ROOT / "config.example.toml")
    assert [s.name for s in config.sources] == ["blog", "news"]
    assert config.sources[0].option("url") == "https://novosyx.example/feed/"
    assert config.sources[1].enabled is False and config.sources[1].media is False
    assert config.export.base_url == "https://novosyx.example/archive/"
    assert config.archive == ROOT / "archive.db"


def test_init_template_loads():
    config = load_config(ROOT / "ownfeed" / "templates" / "ownfeed.toml")
    assert config.sources == ()


def test_relative_paths_resolve_against_the_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    config = load_config(write(sub, 'archive = "data/a.db"\nmedia_dir = "/abs/media"\n'))
    assert config.archive == sub / "data" / "a.db"
    assert config.media_dir == Path("/abs/media")


def test_defaults(tmp_path):
    config = load_config(
        write(tmp_path, '[[sources]]\nname = "b"\ntype = "feed"\nurl = "https://x/"\n')
    )
    source = config.sources[0]
    assert (source.comments, source.replies, source.media, source.refresh_days) == (
        True,
        True,
        True,
        14,
    )
    assert config.concurrency == 16 and config.timeout == 30


@pytest.mark.parametrize(
    "text, expected",
    [
        ('archive = "a.db"\ncolour = "blue"\n', ":2: unknown key 'colour'"),
        (
            '[[sources]]\nname = "b"\ntype = "feed"\nurl = "https://x/"\nbogus = 1\n',
            ":5: unknown key 'bogus' in source 'b'",
        ),
        (
            '[[sources]]\nname = "b"\ntype = "feed"\nurl = "https://x/"\n\n'
            '[[sources]]\nname = "b"\ntype = "feed"\nurl = "https://y/"\n',
            ":7: duplicate source name 'b'",
        ),
        ('[[sources]]\nname = "Bad Name"\ntype = "feed"\n', ":2: [[sources]] #1: 'name' must use"),
        ('[[sources]]\nname = "b"\ntype = "myspace"\n', ":3: source 'b': unknown type 'myspace'"),
        ('[[sources]]\nname = "b"\ntype = "feed"\n', "missing required key 'url'"),
        ('concurrency = "many"\n', ":1: the config: 'concurrency' must be an integer"),
        ('[[sources]]\nname = "b"\ntype = "feed"\nurl = "https://x/"\nenabled = "yes"\n', ":5:"),
        ("timeout = 0\n", ":1: 'timeout' must be a positive"),
        ("archive = \n", "invalid TOML"),
        ('[export]\nbase_url = "javascript:alert(1)"\n', ":2: [export]: 'base_url' must be an"),
        ('[export]\ntitle = "t"\nbase_url = "example.com/"\n', ":3: [export]: 'base_url'"),
        ('[export]\nbase_url = "https://x.example/?a=1"\n', "no query or fragment"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigError, match="ownfeed init"):
        load_config(tmp_path / "nope.toml")


def test_add_source_keeps_comments(tmp_path):
    path = write(tmp_path, '# my archive\narchive = "a.db"  # keep me\n')
    add_source(path, {"name": "blog", "type": "feed", "url": "https://x/feed/"})
    add_source(path, {"name": "news", "type": "feed", "url": "https://y/feed/"})
    text = path.read_text()
    assert "# my archive" in text and "# keep me" in text
    assert [s.name for s in load_config(path).sources] == ["blog", "news"]
    with pytest.raises(ConfigError, match="exists already"):
        add_source(path, {"name": "blog", "type": "feed", "url": "https://z/"})


def test_add_source_never_writes_an_invalid_config(tmp_path):
    path = write(tmp_path, 'archive = "a.db"\n')
    with pytest.raises(ConfigError):
        add_source(path, {"name": "b", "type": "feed"})
    assert path.read_text() == 'archive = "a.db"\n'


@pytest.mark.parametrize(
    "value, ok",
    [
        ("", True),
        ("https://example.com/archive/", True),
        ("http://127.0.0.1:8000", True),
        ("HTTPS://Example.com/", True),
        ("javascript:alert(1)//", False),
        ("file:///srv/site/", False),
        ("//example.com/", False),
        ("https:///no-host/", False),
        ("https://example.com/#top", False),
    ],
)
def test_base_url_must_be_an_absolute_web_address(value, ok):
    assert (base_url_problem(value) is None) is ok
