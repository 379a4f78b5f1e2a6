"""One module per job; each has ``build(p, cfg)`` (what tests call) and ``main(argv)``."""
