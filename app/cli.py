"""The `chatdapp` command line: thin commands over the same services the page and agents use."""
from __future__ import annotations

import typer

from app._cli_chat import register_chat_commands
from app._cli_devnet import devnet_app
from app._cli_digests import register_digest_commands
from app._cli_draft import register_draft_commands
from app._cli_holdings import holdings_cmd
from app._cli_index import index_app
from app._cli_model import model_app

cli = typer.Typer(help="chatdapp: a wallet assistant that never signs for you.", no_args_is_help=True, add_completion=False)
cli.add_typer(devnet_app, name="devnet")
cli.add_typer(model_app, name="model")
cli.add_typer(index_app, name="index")
cli.command("holdings")(holdings_cmd)
register_digest_commands(cli)
register_chat_commands(cli)
register_draft_commands(cli)

# Other command groups register themselves here (one import line each).


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
