"""The rule files: shipped inside the installed package as `zhclean.rulefiles` (see setup.cfg)."""
