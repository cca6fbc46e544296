"""Networks: the MLP composed of parts (`pinn.nets.parts`: scaling, embeddings, trunks,
activations), custom autograd activations, per-field networks."""
