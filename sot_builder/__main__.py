from sot_builder.cli import run

run()
