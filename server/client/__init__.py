"""The ``yangd`` client commands: talk to a running yangd over NETCONF (ncclient).

``profile`` says where and as whom to connect, ``netconf`` is the session (one NETCONF
session per command), ``render`` turns replies into terminal output, ``commands`` registers
the typer commands on the ``yangd`` application.
"""
