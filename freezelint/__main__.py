"""`python -m freezelint`: the same entry point as the console script."""

from __future__ import annotations

from freezelint.frontends.cli import main

if __name__ == "__main__":
    main()
