"""Evaluation of a trained network: predictions on grids and at a reference table's nodes, the
error metrics, and the maps of ``|residual|`` per equation (:mod:`pinn.evaluation.grid`,
:mod:`pinn.evaluation.residual_maps`)."""
