"""`zhclean` and `python -m zhclean`. Importing the CLI loads dictionaries for a moment: Ctrl-C
then ends as it does during a run, with one line and the status of an interrupted run."""
import sys


def main() -> None:
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("zhclean: interrupted\n")
        sys.exit(130)  # as cli.EXIT_INTERRUPTED: 128 + SIGINT
    cli()


if __name__ == "__main__":
    main()
