"""The rule files: shipped inside the installed package as `pipeline.rulefiles` (see setup.cfg)."""
