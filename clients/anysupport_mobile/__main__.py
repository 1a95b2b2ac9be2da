"""``anysupport-mobile``: the customer's client (see ``docs/clients.md``)."""

import sys


def main(argv=None) -> int:
    from .app import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
