"""`python -m latentspeech` = the `latentspeech` command."""
import sys

from latentspeech.cli import main

sys.exit(main())
