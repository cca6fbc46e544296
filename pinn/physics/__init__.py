"""The problem side: domains and their point samplers, loss terms, hard constraints, learnable
coefficients and observations.  The PDEs themselves live in :mod:`pinn.pdes`."""
