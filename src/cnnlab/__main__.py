import sys

from cnnlab.command import main

sys.exit(main())
