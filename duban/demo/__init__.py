"""The demo generator (`duban demo`, and the benchmark's data): writes a realistic, messy inbox for
the real ETL (inbox.py). A tool beside the product: it imports nothing of the project, and only the
edge (duban/cli.py, duban/bench.py) imports it.
"""
