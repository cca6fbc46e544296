"""The Hydra config tree, installed as the package ``pinn.conf`` and found as ``pkg://pinn.conf``.

``setup.cfg`` maps this directory onto ``pinn.conf`` and ships its YAML files as package data,
so an installed wheel has the configs without the repository.
"""
