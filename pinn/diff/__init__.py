"""Derivative engines: batched autograd, torch.func (vmap), forward Taylor mode; field names."""
