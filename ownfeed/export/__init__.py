"""`ownfeed export`: the archive as a static website the company owns.

`build_site()` writes the site described in DESIGN.md ("Export layout"): flat files with
relative links, a Content-Security-Policy on every page, sanitized third-party HTML,
feeds, a sitemap and a client-side search. Re-exports only touch what changed.
"""

from ownfeed.export.build import ExportReport, build_site

__all__ = ["ExportReport", "build_site"]
