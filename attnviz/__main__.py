import sys

from .cli import main

# Run as a module, the help names the command the way it was typed.
sys.exit(main(prog="python -m attnviz"))
