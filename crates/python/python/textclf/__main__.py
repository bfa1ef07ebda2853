"""`python -m textclf …` (and the `textclf` script): the command-line tool itself."""

import sys

from . import _native


def main() -> None:
    sys.exit(_native.main(["textclf", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
