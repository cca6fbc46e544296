"""Networks: the MLP (plain, modified, Fourier features), custom autograd activations, ensembles."""
