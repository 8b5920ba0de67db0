"""Hyperparameter widgets generated from a learner's ``param`` declarations.

The widgets edit a *draft* copy of the learner's parameters, never the learner itself: the
learner belongs to the session's worker thread. Each change goes to ``Session.set_params`` and
applies at the next step. Parameters in ``rebuild_params`` (network sizes, weight support) are
held back until the user confirms the rebuild, because a rebuild starts the weights again.
"""

from __future__ import annotations

import panel as pn
import param

from snnlab.learners.values import LayerWidths, read_value
from snnlab.session import Session
from snnlab.ui.plain_text import PlainText

HIDDEN = ("name", "seed")


class HyperparameterPanel(pn.viewable.Viewer):
    """Widgets for every hyperparameter of the session's learner (bounds and docs included)."""

    pending = param.Dict(default={}, doc="Rebuild changes waiting for confirmation.")
    notice = param.String(default="", doc="Why the last change was refused, if it was.")

    def __init__(self, session: Session, **params):
        super().__init__(**params)
        self.session = session
        cls = type(session.learner)
        self.rebuild_params = cls.rebuild_params
        self.names = [k for k in cls.param if k not in HIDDEN]
        self.draft = cls(**{k: v for k, v in session.learner.hyperparameters().items()})
        self._reverting = False
        self.draft.param.watch(self._changed, self.names)
        widgets = {k: _widget_for(cls.param[k]) for k in self.names if _widget_for(cls.param[k])}
        # one editor per parameter, so the rebuild prompt can sit right under its field
        self.editors = {
            name: self._widths_editor(name) if isinstance(cls.param[name], LayerWidths)
            else pn.Param(self.draft.param, parameters=[name], show_name=False,
                          widgets={name: widgets[name]} if name in widgets else {},
                          sizing_mode="stretch_width")
            for name in self.names
        }
        #: a rebuild prompt under each parameter that rebuilds; the first one changed shows it
        self.confirms = {name: self._confirm_box() for name in self.names
                         if name in self.rebuild_params}
        self.param.watch(self._show_prompt, ["pending"])

    def _changed(self, *events) -> None:
        if self._reverting:
            return
        changes = {e.name: e.new for e in events}
        rebuild = {k: v for k, v in changes.items() if k in self.rebuild_params}
        live = {k: v for k, v in changes.items() if k not in self.rebuild_params}
        if live:
            try:
                self.session.set_params(**live)
                self.notice = ""
            except ValueError as err:
                self.notice = str(err)
                self._revert(live)
        if rebuild:
            self.pending = {**self.pending, **rebuild}

    def _widths_editor(self, name: str) -> pn.widgets.TextInput:
        """Layer widths typed as text (``40`` or ``40, 40``; empty for none), read by the same
        reader as links; a bad entry is refused with a notice and the field shows the value in
        force again."""
        declared = type(self.session.learner).param[name]
        field = pn.widgets.TextInput(label=declared.label, description=declared.doc,
                                     value=widths_text(getattr(self.draft, name)),
                                     sizing_mode="stretch_width")

        def typed(event):
            try:
                value = read_value(name, declared, event.new)
                self.draft.param.update(**{name: value})
            except ValueError as err:
                self.notice = str(err)
                field.value = widths_text(getattr(self.draft, name))

        field.param.watch(typed, "value")
        self.draft.param.watch(lambda e: setattr(field, "value", widths_text(e.new)), name)
        return field

    def _confirm_box(self) -> pn.Column:
        rebuild = pn.widgets.Button(label="Rebuild", button_type="warning")
        cancel = pn.widgets.Button(label="Cancel")
        rebuild.on_click(lambda _: self.confirm_rebuild())
        cancel.on_click(lambda _: self.cancel_rebuild())
        text = PlainText("", styles={"white-space": "pre-wrap"}, sizing_mode="stretch_width")
        return pn.Column(text, pn.Row(rebuild, cancel), visible=False,
                         styles={"background": "#fff3cd", "padding": "4px"})

    def _show_prompt(self, *_) -> None:
        """Show the prompt under the first parameter waiting for a rebuild (or hide it)."""
        first = next((n for n in self.confirms if n in self.pending), None)
        for name, box in self.confirms.items():
            box[0].object = _rebuild_text(self.pending) if name == first else ""
            box.visible = name == first

    def confirm_rebuild(self) -> None:
        """Apply the held-back changes: the network is rebuilt from the seed."""
        if self.pending:
            self.session.set_params(**self.pending)
            self.pending = {}

    def cancel_rebuild(self) -> None:
        """Drop the held-back changes and show the values in force again."""
        self._revert(self.pending)
        self.pending = {}

    def _revert(self, names) -> None:
        self._reverting = True
        try:
            self.draft.param.update(**{k: getattr(self.session.learner, k) for k in names})
        finally:
            self._reverting = False

    def apply(self, values: dict) -> None:
        """Set the fields to ``values`` (a preset's) as if typed: live ones apply at the next
        step, rebuild ones wait for confirmation."""
        changes = {k: v for k, v in values.items()
                   if k in self.names and getattr(self.draft, k) != v}
        if changes:
            self.draft.param.update(**changes)

    def values(self) -> dict:
        """The values chosen, less rebuilds still waiting for confirmation (what URLs record)."""
        return {
            k: getattr(self.session.learner if k in self.pending else self.draft, k)
            for k in self.names
        }

    def __panel__(self):
        fields = []
        for name in self.names:
            fields.append(self.editors[name])
            if name in self.confirms:
                fields.append(self.confirms[name])
        refusal = PlainText(self.param.notice, visible=self.param.notice.rx().rx.pipe(bool),
                              styles={"color": "#842029", "white-space": "pre-wrap"})
        return pn.Column(*fields, refusal, sizing_mode="stretch_width")


def widths_text(widths: tuple) -> str:
    return ", ".join(map(str, widths))


def _widget_for(declared: param.Parameter):
    """Typed inputs for numbers: exact values within the bounds, unlike coarse sliders."""
    if isinstance(declared, param.Integer):
        return {"type": pn.widgets.IntInput}
    if isinstance(declared, param.Number):
        return {"type": pn.widgets.FloatInput}
    return None


def _rebuild_text(pending: dict) -> str:
    if not pending:
        return ""
    names = ", ".join(f"{k} → {v}" for k, v in pending.items())
    return f"Changing {names} rebuilds the network: the weights start again from the seed."
