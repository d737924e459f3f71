"""Templates: a theme's mistakes are one clear error naming its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownfeed.errors import ConfigError, ThemeError
from ownfeed.export.pages import Site, Templates

SITE = Site("Novosyx", "", "en", "")


def theme_with(tmp_path: Path, base: str) -> Templates:
    (tmp_path / "base.html").write_text(base, encoding="utf-8")
    return Templates(tmp_path)


def render_search(templates: Templates) -> str:
    return templates.render("search.html", site=SITE, root="", canonical=None)


def test_a_missing_theme_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[export\] theme: .*nothere is not a folder"):
        Templates(tmp_path / "nothere")


@pytest.mark.parametrize(
    "base, said",
    [
        (
            '{% extends "default/base.html" %}\n{% block footer %}{{ oops( }}{% endblock %}\n',
            "base.html:2: unexpected '}', expected ')'",
        ),
        (
            '{% extends "default/base.html" %}\n\n{% block footer %}{{ nosuch.x }}{% endblock %}\n',
            "base.html:3: 'nosuch' is undefined",
        ),
        (
            '{% extends "default/base.html" %}\n'
            "{% block footer %}{{ site.title() }}{% endblock %}\n",
            "base.html:2: 'str' object is not callable",
        ),
        ('{% extends "default/nope.html" %}\n', "no template named 'default/nope.html'"),
    ],
)
def test_a_broken_theme_template_names_file_and_line(tmp_path: Path, base: str, said: str) -> None:
    templates = theme_with(tmp_path, base)
    with pytest.raises(ThemeError) as error:
        render_search(templates)
    message = str(error.value)
    assert message.startswith(f"theme template {tmp_path}") and message.endswith(said)
    assert "\n" not in message


def test_a_working_theme_renders(tmp_path: Path) -> None:
    templates = theme_with(
        tmp_path, '{% extends "default/base.html" %}\n{% block footer %}Ours{% endblock %}\n'
    )
    assert "Ours" in render_search(templates)


def test_without_a_theme_a_template_error_stays_as_it_is() -> None:
    templates = Templates(python=False)  # the default templates through Jinja
    assert "search-results" in render_search(templates)
    with pytest.raises(Exception) as error:  # a missing value is the caller's bug
        templates.render("search.html", site=SITE, root="")
    assert not isinstance(error.value, ThemeError)
