import sys

from hardneg.console import main

sys.exit(main())
