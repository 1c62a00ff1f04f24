"""Implementations of the ``nablanet`` subcommands (one module each, see :mod:`nablanet.cli`)."""
