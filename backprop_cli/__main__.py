from backprop_cli.cli import app

app(prog_name="backprop")
