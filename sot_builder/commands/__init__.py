"""One module per command family; each exposes click commands used by `sot_builder.cli`."""
