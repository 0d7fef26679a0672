"""ARCA (ex AFIP) protocol library: no Flask, no database.

The only package that knows ARCA's Spanish field names and codes; the app sees plain Python.
"""
