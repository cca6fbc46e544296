"""The fused training step of ``derivatives=fused``: one compiled graph per Adam step.

The graph runs the network's jets (:func:`pinn.diff.jets.forward`), the loss as a function of
them, that part's gradient by ``torch.func.vjp`` (pointwise residuals and means: a small graph
whatever the PDE), the hand-written adjoint back to the parameters
(:func:`pinn.diff.jets.adjoint`), a finite check, and Adam's update in place on the parameters
and on ``torch.optim.Adam``'s own state tensors (so checkpoints, roll-backs and resumes keep the
optimizer's ``state_dict``).  A step whose loss or gradient is not finite leaves everything as it
was and reports it in a flag that the stage reads at log rows, checkpoints and resampling only:
no host synchronisation on the hot path, as CUDA graphs need.

Quasi-Newton stages call :meth:`FusedStep.loss_and_grad`: the same graph without the update.
If compiling fails, one warning and the same functions run eagerly (the same numbers).
"""

from __future__ import annotations

import logging

import torch
from torch.func import functional_call, vjp

from pinn.diff import jets, network_jets
from pinn.diff.autograd import AutogradEngine
from pinn.diff.fused import FUSED_ACTIVATIONS, FusedEngine, fused_support
from pinn.diff.transform_jets import AffineJets, affine_jets
from pinn.nets.adaptive_activations import adaptive_slopes
from pinn.nets.marched import Marched
from pinn.nets.mlp import jet_parts, plain_jets
from pinn.physics.coefficients import WithCoefficients
from pinn.training.backends import LossBackend
from pinn.training.compiling import CompileClock, _first_line, own_code
from pinn.training.losses import PINNLoss
from pinn.training.fused_window import WindowJets, increment_fields
from pinn.training.loss_extras import PointClip

__all__ = ["FusedStep", "fused_step_support"]

log = logging.getLogger(__name__)


def fused_step_support(loss, model) -> str | None:
    """Why ``loss`` and ``model`` cannot take the fused step, or ``None``.  A marched model
    (:class:`~pinn.nets.marched.Marched`) is judged by its windows' network."""
    if not isinstance(loss, PINNLoss) or not isinstance(loss.engine, FusedEngine):
        return "the fused step needs a PINNLoss with derivatives=fused"
    if isinstance(model, Marched) and loss.data:
        return "the fused step does not fit observations in a marched run yet"
    why = fused_support(model)
    if why is not None:
        return why
    for extra in loss.extras:  # each option says whether the fused step runs it
        if not extra.fused:
            return f"the fused step does not support {extra.key} yet"
    return None


class FusedStep(LossBackend):
    """The loss of a ``derivatives=fused`` run, with its compiled training steps.

    Called like the loss (``fused(model, points) -> (loss, parts)``) it is the eager loss
    (history rows, evaluation).  :meth:`adam_step` and :meth:`loss_and_grad` are the compiled
    steps; the trainer's stages find them on the loss.

    Args:
        loss: a :class:`~pinn.training.losses.PINNLoss` with a :class:`~pinn.diff.fused.FusedEngine`.
        model: a :class:`~pinn.nets.mlp.MLP` or one per field (:class:`~pinn.nets.per_field.PerFieldMLP`),
            bare or inside a hard constraint, with or without learned coefficients
            (:func:`~pinn.nets.mlp.jet_support`); or a marched run's (:class:`~pinn.nets.marched.Marched`),
            whose active window it trains (:meth:`retarget` moves it on to the next).
        backend: ``torch.compile``'s backend (``"inductor"``; ``"aot_eager"`` for tests; ``None``:
            run eagerly, uncompiled).
        mode: ``torch.compile``'s mode; ``None`` picks ``"reduce-overhead"`` (CUDA graphs) on a
            CUDA model, the default elsewhere.
        options: inductor options added to the defaults (without ``mode``), e.g. ``{"max_autotune": True}``.
    """

    #: Resampling refills the point tensors in place (fixed addresses, as CUDA graphs need).
    static_points = True
    #: A step's finiteness is a device flag, read where the state is used: no host sync per step.
    defers_checks = True
    #: A loss weighting's steps run eagerly (it reads each term's graph); the others here, its weights data.
    takes_weighting = True

    def __init__(self, loss: PINNLoss, model, *, backend: str | None = "inductor", mode: str | None = None,
                 options: dict | None = None):
        why = fused_step_support(loss, model)
        if why is not None:
            raise ValueError(f"{why}; use derivatives=taylor or derivatives=autograd")
        # a marched run's window (its eager loss on the autograd engine: the jet engines see one network)
        marched = isinstance(model, Marched)
        super().__init__(loss.with_engine(AutogradEngine()) if marched else loss, loss=loss)
        self.model = model
        window = model.windows[model.active] if marched else model
        self.net, self.transform = jet_parts(window)  # the MLP(s) the jets run through; a hard constraint after
        # a later window's increment (pinn.training.fused_window): its start state and jets at its start, data
        self._window = WindowJets(model, model.active, len(loss.pde.domain.coordinates)) \
            if marched and model.active else None
        # the hand-written adjoint where it is written (one plain trunk on affine inputs, the built-in
        # activations); otherwise vjp through the jets of any MLP (embeddings, modified trunk, slopes), or
        # of one per field
        self.adjoint = self._window is None and plain_jets(self.net) and all(
            type(a) in FUSED_ACTIVATIONS for a in self.net.trunk.activations)
        self._jets = network_jets.NetworkJets(self.net)
        named = list(self._jets.named_parameters())
        self._names = [n for n, _ in named]
        if self.adjoint:
            self._params = [t for la in self.net.trunk.layers for t in (la.weight, la.bias)]
        else:
            self._params = [p for _, p in named]
        # the adaptive activations' slopes among the parameters, for the slope-recovery term
        at = {id(p): i for i, p in enumerate(self._params)}
        self._slopes = [at[id(s)] for s in adaptive_slopes(self.net)] if not self.adjoint else []
        # learned coefficients: the PDE's residuals read them as its attributes, so the graph sets those
        # to its own inputs while it evaluates the loss (the gradient with respect to them comes with it)
        coefficients = dict(model.coefficients) if type(model) is WithCoefficients else {}
        for name, p in coefficients.items():
            if getattr(loss.pde, name, None) is not p:
                raise ValueError(f"the loss's PDE does not read the model's coefficient {name!r}; build the loss "
                                 f"on the PDE that pinn.physics.coefficients.make_learnable returned")
        self._coefficients = list(coefficients)
        self._first_coefficient = len(self._params)
        self._params += list(coefficients.values())
        self.outputs = network_jets.outputs_of(self.net)
        if mode is None and next(model.parameters()).is_cuda:
            mode = "reduce-overhead"
        self.failed: str | None = None
        self._step = None
        self._clock = CompileClock()
        if backend is not None:
            # Guards on tensors only (their shapes and dtypes): the Python state the graph reads (the
            # loss's weights and options, the network's structure) is fixed for the life of a run.  On
            # the CPU a C++ wrapper calls the kernels: 10% of a small step was inductor's Python one.
            cpu = not next(model.parameters()).is_cuda
            options = {"guard_filter_fn": torch.compiler.keep_tensor_guards_unsafe,
                       **({"cpp_wrapper": True} if cpu else {}), **(options or {})}
            compile_ = dict(fullgraph=True, dynamic=False, backend=backend, mode=mode)
            if mode is None:
                compile_["options"] = options

            def step_graph(*args):
                return self._step_graph(*args)

            self._step = torch.compile(own_code(step_graph), **compile_)  # type: ignore[call-overload]
        self._idle: tuple | None = None  # Adam's state tensors for loss_and_grad, which updates nothing
        self._yes: torch.Tensor | None = None
        self._hyper = None
        self._flags: dict = {}  # per device and dtype: (lr, no fault, fault)
        self._data_key: list | None = None  # the points the graph's data (_data) was made at
        self._data_found: tuple[list, list, tuple | None] = ([], [], None)
        self._clip_factor: tuple | None = None
        self._weight_data: tuple | None = None

    def retarget(self, loss: PINNLoss, model: Marched) -> None:
        """Train window ``model.active`` of the marched run this step trains a later window of, with its
        loss (:func:`pinn.training.marching.window_loss`): the windows after the first are alike to the
        compiled graph (the window's start, its parameters and its start state are the graph's data),
        so one compilation serves them all."""
        if self._window is None or not isinstance(model, Marched) or model is not self.model or not model.active:
            raise ValueError("only a step built for a later window of a marched run moves on to another one")
        self.loss, self.fn = loss, loss.with_engine(AutogradEngine())
        self.net, self.transform = jet_parts(model.windows[model.active])
        self._window = WindowJets(model, model.active, self._window.dim)
        named = dict(network_jets.NetworkJets(self.net).named_parameters())
        self._params = [named[n] for n in self._names]
        self._data_key = None  # the start state and the jets at the window's start are the new window's

    # -- the backend protocol (pinn.training.backends) -------------------------------------

    @property
    def compile_seconds(self) -> float:
        return self._clock.seconds

    def _tensors(self):
        p0 = self._params[0]
        key = (p0.device, p0.dtype)
        if key not in self._flags:
            self._flags = {key: (torch.zeros((), dtype=torch.float64, device=p0.device),
                                 torch.ones((), dtype=p0.dtype, device=p0.device),
                                 torch.full((), float("nan"), dtype=p0.dtype, device=p0.device))}
        return self._flags[key]

    def value_and_grad(self, model, points, *, fault=False, before_backward=None):
        """The loss and gradients from the compiled graph, without the update (quasi-Newton stages).
        A step with a loss weighting's turn (``before_backward``) runs on :meth:`eager`: the weighting
        reads each term's graph."""
        if before_backward is not None:
            return self.eager().value_and_grad(model, points, fault=fault, before_backward=before_backward)
        _, no, nan = self._tensors()
        return self.loss_and_grad(model, points, poison=nan if fault else no)

    def adam_update(self, opt, model, points, *, fault=False, before_backward=None):
        """One Adam step in the compiled graph; ``ok`` is a device flag (:attr:`defers_checks`).  A step
        with a loss weighting's turn (``before_backward``) is ``opt.step()`` on :meth:`eager`, on the
        same optimizer state."""
        if before_backward is not None:
            for st in opt.state.values():  # one step counter per parameter again, as torch.optim.Adam counts
                if "step" in st:
                    st["step"] = st["step"].clone()
            return self.eager().adam_update(opt, model, points, fault=fault, before_backward=before_backward)
        lr, no, nan = self._tensors()
        lr.fill_(opt.param_groups[0]["lr"])
        return self.adam_step(opt, points, lr=lr, poison=nan if fault else no)

    # -- the graphs ----------------------------------------------------------------------

    def _requests(self, points, widened=None) -> list:
        """``(points, derivative multi-indices)`` per point set: what the loss reads of the network (the
        data term's observation points last, values only); a later window's at its ``widened`` points
        (:mod:`pinn.training.fused_window`)."""
        loss = self.loss
        sets = [(points[w], [t for t in loss.terms if t.points == w]) for w in loss.point_sets]
        if widened is not None:
            sets = [(x, terms) for x, (_, terms) in zip(widened, sets, strict=True)]
        requests = loss.engine.requests(sets, loss.pde.domain.coordinates, fields=loss.pde.fields)
        return requests + [(points["data"], set())] if loss.data else requests  # the data term's values

    def _data(self, points) -> tuple[list[torch.Tensor], list[torch.Tensor], tuple | None]:
        """What the graph takes as data beside the points, computed eagerly when the points change (a
        resampling refills them in place, which bumps their version):

        - the hard constraint's :class:`~pinn.diff.transform_jets.AffineJets`, flat; ``[]`` without a
          constraint, or where it is not affine (then the graph differentiates the transform
          itself, :func:`~pinn.diff.transform_jets.through`);
        - the jets of the network's inputs (:func:`~pinn.diff.network_jets.input_jets`), ``[]`` on
          the hand-written adjoint's path (which folds the scaling into the first layer);
        - a later window's ``(widened points, affine coefficients and input jets at its start)``
          (:class:`~pinn.training.fused_window.WindowJets`), ``None`` otherwise.
        """
        requests = self._requests(points)
        key = [(p, p._version, p.dtype) for p, _ in requests]  # the tensors themselves: no reused ids
        same = self._data_key is not None and len(key) == len(self._data_key) and all(
            a is b and u == v and s == t for (a, u, s), (b, v, t) in zip(key, self._data_key))
        if not same and self._window is not None:
            widened = self._window.widened(self.loss, points)
            closed = [(p, jets.closed(i)) for p, i in self._requests(points, widened)]
            here, there = self._window.data(self.net, self.transform, closed, self.outputs)
            self._data_key, self._data_found = key, (*here, (widened, *there))
        elif not same:
            closed = [(p, jets.closed(i)) for p, i in requests]
            affine: list[torch.Tensor] = []
            if self.transform is not None:
                found = affine_jets(self.transform, closed, self.outputs)
                if found is None and self._data_key is None:
                    log.info("the hard constraint is not affine in the network's output: the fused step "
                             "differentiates it on every step")
                affine = [] if found is None else found.tensors()
            inputs: list[torch.Tensor] = []
            if not self.adjoint:
                plan = jets.make_plan([(p.shape[0], i) for p, i in closed])
                with torch.no_grad():
                    inputs = network_jets.inputs_of(self.net, jets.stack(closed, plan), plan)
            self._data_key, self._data_found = key, (affine, inputs, None)
        return self._data_found

    def _scaling(self) -> tuple:
        """The input scaling the hand-written adjoint folds into the first layer (read at each call: a
        change of precision replaces the buffers); ``(None, None)`` on the vjp path."""
        if not self.adjoint:
            return None, None
        return self.net.scaling.center, self.net.scaling.half_width

    def _clip(self, device) -> torch.Tensor | None:
        """The loss's point-clipping factor as a 0-d tensor, data to the graph (its value 0 within
        :meth:`~pinn.training.losses.PINNLoss.exact_gradients`: one graph for the clipped gradients
        of the Adam steps and the exact ones of a line search); ``None`` without clipping."""
        if not any(isinstance(e, PointClip) for e in self.loss.extras):
            return None
        factor = self.loss.point_clip
        dtype = self._params[0].dtype
        if self._clip_factor is None or self._clip_factor[0] != (factor, device, dtype):
            self._clip_factor = (factor, device, dtype), torch.tensor(factor, dtype=dtype, device=device)
        return self._clip_factor[1]

    def _weights(self, device) -> torch.Tensor:
        """The loss's term weights, in its terms' order, as a tensor of the parameters' dtype: data to
        the graph, so that a loss weighting's new weights reach it."""
        values = tuple(float(w) for w in self.loss.weights.values())
        dtype = self._params[0].dtype
        if self._weight_data is None or self._weight_data[0] != (values, device, dtype):
            self._weight_data = (values, device, dtype), torch.tensor(values, dtype=dtype, device=device)
        return self._weight_data[1]

    def _inputs(self) -> tuple:
        """The graph's parameter inputs, detached (the network's and the learned coefficients')."""
        return tuple(p.detach() for p in self._params)

    def _evaluate(self, values, coefficients, inputs, points, clip, term_weights):
        """The loss and its parts at the network's jets ``values`` (:class:`~pinn.diff.jets.JetValues`),
        the PDE reading the learned ``coefficients`` (the transform's tensors), set as its attributes for
        the call.  They are put back to ``inputs``, the graph's own (referring to the parameters inside
        the graph, beside their detached inputs, made two aliasing inputs, and the compiled update of the
        optimizer's state was lost); :meth:`_call` puts the parameters back after the graph.  ``clip``:
        the point-clipping factor as data (:meth:`_clip`), or ``None``; ``term_weights``: the terms' weights
        as data (:meth:`_weights`: a loss weighting changes them)."""
        pde, loss = self.loss.pde, self.loss
        for n, v in zip(self._coefficients, coefficients):
            setattr(pde, n, v)
        loss._clip_data, fixed = clip, loss.weights
        loss.weights = dict(zip(fixed, term_weights.unbind()))
        try:
            return loss(values, points)
        finally:
            loss._clip_data, loss.weights = None, fixed
            for n, v in zip(self._coefficients, inputs):
                setattr(pde, n, v)

    def _restore_coefficients(self) -> None:
        for n, p in zip(self._coefficients, self._params[self._first_coefficient:]):
            setattr(self.loss.pde, n, p)

    def _loss_and_grads(self, params, center, half_width, points, poison, affine, inputs, clip, term_weights,
                        window):
        k = self._first_coefficient
        params, coefficients = params[:k], params[k:]
        requests = self._requests(points, None if window is None else window[0])
        transform = at_start = self.transform
        layout = [tuple(sorted(jets.closed(i))) for _, i in requests]
        if affine:
            transform = AffineJets.from_tensors(layout, affine)
            at_start = AffineJets.from_tensors(layout, window[1]) if window is not None else None
        plan = jets.make_plan([(p.shape[0], i) for p, i in requests])
        if not self.adjoint:  # vjp through the jets of any MLP, with respect to all its parameters
            def of_params(*ps):
                # tie_weights=False: a module shared by several layers (GAAF's one slope) is one object, swapped
                # once; tying would record and restore it under every name, leaving a swapped-in tensor behind
                swapped = dict(zip(self._names, ps[:k]))
                out = functional_call(self._jets, swapped, (plan, inputs), tie_weights=False)
                slopes = [ps[i] for i in self._slopes]
                if window is None:
                    values = jets.JetValues(out, plan, self.outputs, transform, requests, slopes)
                else:  # a later window: the increment c(x, t) - c(x, a), its start state in the widened points
                    out_a = functional_call(self._jets, swapped, (plan, window[2]), tie_weights=False)
                    fields = increment_fields(out, out_a, plan, self.outputs, requests, transform, at_start)
                    values = jets.JetValues(None, plan, self.outputs, None, requests, slopes, fields=fields)
                total, parts = self._evaluate(values, ps[k:], coefficients, points, clip, term_weights)
                return total * poison, parts

            total, pullback, parts = vjp(of_params, *params, *coefficients, has_aux=True)
            return total, parts, list(pullback(torch.ones_like(total)))
        x = jets.stack(requests, plan)
        weights, biases = params[0::2], params[1::2]
        out, saved = jets.forward(weights, biases, self.net.trunk.activations, center, half_width, plan, x, tape=True)

        def of_out(o, *c):
            total, parts = self._evaluate(jets.JetValues(o, plan, self.outputs, transform, requests), c, coefficients,
                                          points, clip, term_weights)
            return total * poison, parts

        total, pullback, parts = vjp(of_out, out, *coefficients, has_aux=True)
        out_bar, *coefficient_bars = pullback(torch.ones_like(total))
        return total, parts, jets.adjoint(weights, center, half_width, plan, x, saved, out_bar) + coefficient_bars

    def _step_graph(self, params, avgs, squares, step, lr, hyper, center, half_width, points, poison, update, affine,
                    inputs, clip, term_weights, window):
        """Loss, parts, gradients and Adam's update in place where ``update`` and the step is finite;
        one graph for both kinds of stage (one compilation).  ``hyper``: Adam's ``(beta1, beta2, eps)`` as
        a float64 tensor (read as data: compiled constants would outlive a change, the guards being on
        tensors only).  ``affine``, ``inputs``: the hard constraint's coefficients and the network inputs' jets
        (:meth:`_data`), data too; ``clip``, ``term_weights``: the point-clipping factor and the terms' weights
        (:meth:`_clip`, :meth:`_weights`)."""
        total, parts, grads = self._loss_and_grads(params, center, half_width, points, poison, affine, inputs, clip,
                                                   term_weights, window)
        # the learned coefficients beside the terms, as the eager loss logs them: the values the loss was
        # evaluated at (copies: the update below changes the parameters in place)
        learned = params[self._first_coefficient:]
        parts = {**parts, **{n: c.clone().reshape(()) for n, c in zip(self._coefficients, learned)}}
        ok = torch.isfinite(total) & torch.stack([torch.isfinite(g).all() for g in grads]).all()
        apply = ok & update
        beta1, beta2, eps = hyper[0], hyper[1], hyper[2].to(params[0].dtype)
        t = step.to(torch.float64)
        step_size = (lr / (1 - beta1 ** t)).to(params[0].dtype)
        root = torch.sqrt(1 - beta2 ** t).to(params[0].dtype)
        for p, g, a, s in zip(params, grads, avgs, squares):
            a_new = a + (1 - beta1) * (g - a)
            s_new = beta2 * s + (1 - beta2) * g * g
            p_new = p - step_size * a_new / (torch.sqrt(s_new) / root + eps)
            a.copy_(torch.where(apply, a_new, a))
            s.copy_(torch.where(apply, s_new, s))
            p.copy_(torch.where(apply, p_new, p))
        return total, parts, ok, grads

    # -- the steps -----------------------------------------------------------------------

    def _run(self, *args):
        if self._step is not None and self.failed is None:
            try:
                return self._clock(self._step, *args)
            except Exception as e:  # any compiler or tracing failure: eager from now on
                self.failed = _first_line(e)
                log.warning("compiling the fused step failed (%s); running it eagerly", self.failed)
        return self._step_graph(*args)

    def _call(self, params, avgs, squares, step, lr, betas, eps, points, poison, update):
        key = (float(betas[0]), float(betas[1]), float(eps), step.device)
        if self._hyper is None or self._hyper[0] != key:
            self._hyper = key, torch.tensor(key[:3], dtype=torch.float64, device=step.device)
        affine, inputs, window = self._data(points)
        # a 0-d tensor (a learned coefficient, its optimizer state) enters as a 1-element view: torch.compile
        # (2.13) dropped in-place updates of 0-d inputs; the view writes through to the tensor itself
        params, avgs, squares = ([t.view(1) if t.dim() == 0 else t for t in group] for group in (params, avgs, squares))
        try:
            with torch.no_grad():  # the in-place update (the vjp inside is a function transform: not affected)
                return self._run(params, avgs, squares, step, lr, self._hyper[1], *self._scaling(), points, poison,
                                 update, affine, inputs, self._clip(step.device), self._weights(step.device), window)
        finally:
            self._restore_coefficients()  # the PDE reads the parameters again

    def loss_and_grad(self, model, points, *, poison: torch.Tensor | None = None):
        """``(loss, parts)`` with every parameter's ``.grad`` set (quasi-Newton stages): the same graph as
        :meth:`adam_step`, told not to update."""
        params = self._inputs()
        p0 = params[0]
        if self._idle is None or self._idle[0][0].dtype != p0.dtype:
            zeros = [torch.zeros_like(p) for p in params]
            one = torch.ones((), dtype=torch.float32, device=p0.device)
            self._idle = (zeros, [z.clone() for z in zeros], one,
                          torch.zeros((), dtype=torch.float64, device=p0.device),
                          torch.zeros((), dtype=torch.bool, device=p0.device))
        avgs, squares, one, lr, no = self._idle
        if poison is None:
            poison = torch.ones((), dtype=p0.dtype, device=p0.device)
        total, parts, _, grads = self._call(params, avgs, squares, one, lr, (0.9, 0.999), 1e-8, points, poison, no)
        for p, g in zip(self._params, grads):
            g = g.reshape(p.shape)  # a coefficient's came as one element (_call)
            p.grad = g if g.is_contiguous() else g.contiguous()  # L-BFGS flattens them with view
        return total, parts

    def adam_step(self, opt: torch.optim.Adam, points, *, lr: torch.Tensor, poison: torch.Tensor):
        """One Adam step of ``opt`` (a ``torch.optim.Adam`` over this model's parameters, no weight
        decay or AMSGrad) in the compiled graph.  ``lr``: a 0-d float64 tensor, the group's rate.
        Returns ``(loss, parts, ok)``, ``ok`` a bool tensor: false if the loss or a gradient was not
        finite, and then nothing changed (the step counter aside)."""
        group = opt.param_groups[0]
        if group["weight_decay"] or group["amsgrad"] or group["maximize"]:
            raise ValueError("the fused Adam step has no weight decay, AMSGrad or maximize")
        state = [opt.state[p] for p in self._params]
        if not state[0]:
            for p, st in zip(self._params, state):
                st["step"] = torch.zeros((), dtype=torch.float32, device=p.device)  # as torch.optim.Adam's
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        step = state[0]["step"]
        if any(st["step"] is not step for st in state):  # one counter for all (a loaded state dict has copies)
            for st in state:
                st["step"] = step
        step.add_(1)
        if self._yes is None or self._yes.device != step.device:
            self._yes = torch.ones((), dtype=torch.bool, device=step.device)
        opt._opt_called = True  # type: ignore[attr-defined]  # the optimizer's state moves here, not in opt.step(): no scheduler warning
        total, parts, ok, _ = self._call(self._inputs(), [st["exp_avg"] for st in state],
                                         [st["exp_avg_sq"] for st in state], step, lr, group["betas"],
                                         group["eps"], points, poison, self._yes)
        return total, parts, ok
