"""The `teaserfeed` command. One module per command group: `crawl` (crawl, demo), `archive`
(every verb over an archive file), `sites`, `extract`, `reextract` and `distributed`
(ingest, worker); `util` holds the options and helpers they share."""

import click

from crawlers.cli.archive import check, clusters, diff, export, search, serve, show, stats
from crawlers.cli.crawl import crawl, demo, run_crawl
from crawlers.cli.distributed import ingest
from crawlers.cli.extract import extract
from crawlers.cli.reextract import reextract
from crawlers.cli.sites import sites

__all__ = ["main", "run_crawl"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="teaserfeed")
def main() -> None:
    """Archive news through its teaser listings into a searchable SQLite file.

    Start with `teaserfeed demo`; see `teaserfeed COMMAND --help` for each command.
    """


for _command in (
    crawl,
    demo,
    search,
    show,
    export,
    serve,
    diff,
    stats,
    ingest,
    clusters,
    check,
    reextract,
    sites,
    extract,
):
    main.add_command(_command)


if __name__ == "__main__":
    main()
