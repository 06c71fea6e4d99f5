"""The demo newsroom's next edition: what `teaserfeed demo` publishes between its two crawls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crawlers.demo.server import DemoServer
from crawlers.demo.site import DemoSite

__all__ = ["DemoEdition", "next_edition", "revision_target"]


@dataclass(frozen=True)
class DemoEdition:
    """Paths of what the edition changed, so the demo (and tests) can name them."""

    revised: str
    old_headline: str
    new_headline: str
    german: str
    syndicated: str
    syndicated_from: str
    published: tuple[str, ...]


def revision_target(site: DemoSite) -> str:
    """The article the edition revises: the first ordinary story on the World front page."""
    special = site.special
    odd = {special.cross_listed, *special.headline_changed}
    return next(
        t.article_path
        for t in site.teasers_on(site.start_paths[0])
        if t.article_path not in odd and site.article(t.article_path).status == 200
    )


def next_edition(server: DemoServer, when: datetime) -> DemoEdition:
    """From `when` on the server's clock: two new stories, a German one, a partner paper's
    copy of the Svalbard story, then a correction with a new headline to a front-page story.
    """
    revised = revision_target(server.site)
    old_headline = server.site.article(revised).title
    published = []
    for step, kind in enumerate(("plain", "german", "syndicated")):
        server.clock = when + timedelta(minutes=10 * step)
        published += [a.path for a in server.publish(2 if kind == "plain" else 1, kind)]
    server.clock = when + timedelta(minutes=40)
    new_headline = f"{old_headline}, city confirms"
    server.edit(revised, headline=new_headline)
    special = server.site.special
    assert special.german is not None
    assert special.syndicated is not None
    assert special.syndicated_from is not None
    return DemoEdition(
        revised=revised,
        old_headline=old_headline,
        new_headline=new_headline,
        german=special.german,
        syndicated=special.syndicated,
        syndicated_from=special.syndicated_from,
        published=tuple(published),
    )
