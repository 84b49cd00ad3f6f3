import sys

sys.exit("plugin exits at import")
