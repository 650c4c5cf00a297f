"""latentgraph: `python main.py` starts the server with the editor; subcommands run
workflows headless and work with model files. `python main.py --help` lists them."""

from __future__ import annotations

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
