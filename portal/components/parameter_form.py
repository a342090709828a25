"""A parameter form built from a template manifest: one widget per parameter, chosen by its type.

Owns the `parameter_form.<form id>.*` session_state keys, the form id being the template's id
(with `.v<N>` for an imported template's version N: a new version may change a field's type, so
its form starts fresh), and the `parameter_form.choices.*` keys (what the cloud held for each AWS
type, looked up at most once a minute). Values are kept per template for the whole session, so a
student can switch templates or pages and come back to what they typed; secrets excepted.
Validation is the services' job: the form only collects raw values and shows the messages the
services return, under each field and as a summary under the form.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.components.text import md_escape
from services.catalog_service import ParameterSpec, TemplateManifest, localized
from services.errors import PortalError
from services.i18n import _
from services.template_library import PickerChoice

PREFIX = "parameter_form"
# A key pair or VPC made a moment ago in the console shows up within this long, while a form's
# reruns (one per keystroke) do not each list the cloud again.
CHOICES_TTL_S = 60.0


# What the cloud holds for an AWS parameter type (`template_library.picker_choices`).
ChoicesLookup = Callable[[str], Sequence[PickerChoice]]


def field_key(template_id: str, name: str) -> str:
    return f"{PREFIX}.{template_id}.{name}"


def advanced_key(manifest: TemplateManifest) -> str:
    """The key of the form's Advanced section, which is open while it holds True."""
    return f"{PREFIX}.{form_id(manifest)}.advanced"


def form_id(manifest: TemplateManifest) -> str:
    """What the form's keys are named after: the template, and an imported one's version."""
    return manifest.id if manifest.version is None else f"{manifest.id}.v{manifest.version}"


@dataclass
class ParameterForm:
    template_id: str
    values: dict[str, Any]
    _field_slots: dict[str, DeltaGenerator] = field(repr=False)
    _summary_slot: DeltaGenerator = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        """Each message under its field, and all of them under the form.

        The summary matters: a field in the collapsed "Advanced" section would otherwise hide
        its error.
        """
        if not field_errors:
            return
        for name, message in field_errors.items():
            slot = self._field_slots.get(name)
            if slot is not None:
                slot.error(md_escape(message), icon=":material/error:")
        lines = "\n".join(f"- **{md_escape(name)}**: {md_escape(message)}"
                          for name, message in field_errors.items())
        self._summary_slot.error(_("Fix these parameters first:\n{lines}").format(lines=lines),
                                 icon=":material/rule:")


def _reset(manifest: TemplateManifest) -> None:
    # A callback runs before the script, so the widgets below are drawn fresh from the defaults.
    for spec in manifest.parameters:
        st.session_state.pop(field_key(form_id(manifest), spec.name), None)


def _drop_unless(key: str, fits: Callable[[Any], bool]) -> None:
    """Forget a kept value the widget can no longer show (an option gone, another kind of
    widget under the key), so it is drawn from its default instead of failing."""
    if key in st.session_state and not fits(st.session_state[key]):
        del st.session_state[key]


def _within(spec: ParameterSpec, value: Any) -> bool:
    return value is not None and (spec.min is None or value >= spec.min) and (
        spec.max is None or value <= spec.max)


def _number_widget(spec: ParameterSpec, common: dict[str, Any]) -> Any:
    known = [v for v in (spec.default, spec.min, spec.max) if v is not None]
    # A whole-number field when everything the template says is whole (a port, a count);
    # CloudFormation's Number takes decimals too, so anything else is a decimal field.
    whole = bool(known) and all(isinstance(v, int) for v in known)
    cast: Callable[[Any], Any] = int if whole else float
    low = None if spec.min is None else cast(spec.min)
    high = None if spec.max is None else cast(spec.max)
    value = cast(spec.default) if _within(spec, spec.default) else None
    _drop_unless(common["key"], lambda kept: kept is None or (
        isinstance(kept, (int, float)) and (low is None or kept >= low)
        and (high is None or kept <= high)))
    if whole:
        return st.number_input(spec.name, min_value=low, max_value=high, value=value, step=1,
                               **common)
    return st.number_input(spec.name, min_value=low, max_value=high, value=value,
                           format="%g", **common)


def _listed(values: Any) -> str:
    return ", ".join(str(v) for v in values or ())


def _list_widget(spec: ParameterSpec, common: dict[str, Any]) -> Any:
    """Several values: picked from the allowed ones, or typed separated by commas (the service
    splits them, as it does `--param Ports=80,443`)."""
    key = common["key"]
    if spec.allowed:
        options = list(spec.allowed)
        _drop_unless(key, lambda kept: isinstance(kept, list)
                     and all(item in options for item in kept))
        return st.multiselect(spec.name, options,
                              default=[v for v in spec.default or () if v in options],
                              **common)
    _drop_unless(key, lambda kept: isinstance(kept, str))
    placeholder = (_("numbers separated by commas") if spec.item_type == "number"
                   else _("values separated by commas"))
    return st.text_input(spec.name, value=_listed(spec.default), placeholder=placeholder,
                         **common)


def _cloud_choices(aws_type: str, lookup: ChoicesLookup | None
                   ) -> tuple[list[PickerChoice], str]:
    """What the cloud holds for `aws_type` (kept a minute), and why there is nothing to pick
    from when the list is empty."""
    if lookup is None:
        return [], ""
    key = f"{PREFIX}.choices.{aws_type}"
    kept = st.session_state.get(key)
    if kept is not None and time.monotonic() - kept[0] < CHOICES_TTL_S:
        return kept[1], ""
    try:
        choices = list(lookup(aws_type))
    except PortalError as exc:
        # The form stays usable when the cloud cannot be listed: the id is typed instead, and
        # the launch tells whether it exists.
        return [], _("The cloud could not be asked for them ({error}).").format(error=exc)
    st.session_state[key] = (time.monotonic(), choices)
    return choices, ""


def _aws_widget(spec: ParameterSpec, common: dict[str, Any],
                lookup: ChoicesLookup | None) -> Any:
    """The id of something in the target cloud (a VPC, subnets, a key pair), picked from what is
    there; typed when the portal cannot list that type or the cloud holds none."""
    aws_type = spec.aws_type or ""
    inner = aws_type.removeprefix("List<").removesuffix(">")
    key = common["key"]
    choices, problem = _cloud_choices(aws_type, lookup)
    if choices:
        values = [c.value for c in choices]
        labels = {c.value: c.label for c in choices}
        if spec.is_list:
            _drop_unless(key, lambda kept: isinstance(kept, list)
                         and all(item in values for item in kept))
            return st.multiselect(spec.name, values, format_func=labels.__getitem__,
                                  default=[v for v in spec.default or () if v in values],
                                  placeholder=_("Pick from the cloud's {aws_type}").format(
                                      aws_type=inner), **common)
        _drop_unless(key, lambda kept: kept in values)
        return st.selectbox(spec.name, values, format_func=labels.__getitem__,
                            index=values.index(spec.default) if spec.default in values else None,
                            placeholder=_("Pick a {aws_type}").format(aws_type=inner), **common)
    _drop_unless(key, lambda kept: isinstance(kept, str))
    typed = st.text_input(spec.name,
                          value=_listed(spec.default) if spec.is_list else spec.default or "",
                          placeholder=_("{aws_type}, separated by commas").format(aws_type=inner)
                          if spec.is_list else inner, **common)
    if lookup is not None:
        st.caption(md_escape(problem or _("Nothing in the target cloud to pick from: type the "
                                          "{aws_type}.").format(aws_type=inner)))
    return typed


def _secret_widget(spec: ParameterSpec, key: str, help_text: str | None) -> str | None:
    """A password box that starts empty whatever the template's default, and is not kept when
    the page is left: the value goes to the launch and nowhere back to the browser. Empty means
    "the template's default" (or, without one, the service's "is required")."""
    typed = st.text_input(
        spec.name, key=key, type="password", max_chars=spec.max_length,
        help=help_text, autocomplete="new-password",
        placeholder=_("the template's default") if spec.default is not None else _("required"))
    return typed or None


def _widget(spec: ParameterSpec, key: str, lookup: ChoicesLookup | None,
            help_text: str | None) -> Any:
    """`spec`'s widget; `help_text` is its description in the reader's language."""
    common: dict[str, Any] = {"key": key, "help": help_text, "persist_state": "session"}
    if spec.type == "boolean":
        return st.checkbox(spec.name, value=bool(spec.default), **common)
    if spec.secret:
        return _secret_widget(spec, key, help_text)
    if spec.type == "aws":
        return _aws_widget(spec, common, lookup)
    if spec.type == "list":
        return _list_widget(spec, common)
    if spec.allowed:
        options = list(spec.allowed)
        # A size picked under another course may not be offered by this one.
        if key in st.session_state and st.session_state[key] not in options:
            del st.session_state[key]
        index = options.index(spec.default) if spec.default in options else 0
        return st.selectbox(spec.name, options, index=index, **common)
    if spec.type == "integer":
        return st.number_input(spec.name, min_value=spec.min, max_value=spec.max,
                               value=None if spec.default is None else int(spec.default), step=1,
                               **common)
    if spec.type == "number":
        return _number_widget(spec, common)
    placeholder = _("e.g. 10.0.1.0/24") if spec.type == "cidr" else None
    return st.text_input(spec.name, value="" if spec.default is None else str(spec.default),
                         max_chars=spec.max_length, placeholder=placeholder, **common)


def parameter_form(manifest: TemplateManifest, *,
                   aws_choices: ChoicesLookup | None = None) -> ParameterForm:
    """The form of `manifest`. `aws_choices` lists what the target cloud holds for an AWS
    parameter type; without it such fields are typed."""
    values: dict[str, Any] = {}
    slots: dict[str, DeltaGenerator] = {}
    form = form_id(manifest)
    # What the reader reads about each field; the widgets themselves follow `manifest`.
    described = {spec.name: spec.description for spec in localized(manifest).parameters}

    def draw(spec: ParameterSpec) -> None:
        value = _widget(spec, field_key(form, spec.name), aws_choices,
                        described.get(spec.name, spec.description))
        # A secret left empty is left out, so the template's default applies.
        if not (spec.secret and value is None):
            values[spec.name] = value
        slots[spec.name] = st.empty()

    def kept(spec: ParameterSpec) -> None:
        """The value of a field not drawn: what its widget last held, or the template's
        default."""
        values[spec.name] = st.session_state.get(field_key(form, spec.name), spec.default)

    with st.container(border=True, key=f"{PREFIX}.{form}.container"):
        st.markdown(_("**Parameters**"))
        # A secret is drawn whatever its section: it is never kept (see `_secret_widget`), so a
        # closed section would drop what was typed in it.
        advanced = [spec for spec in manifest.parameters if spec.advanced and not spec.secret]
        for spec in manifest.parameters:
            if spec not in advanced:
                draw(spec)
        if advanced:
            # Drawn when opened: each widget costs the browser a few milliseconds to mount on
            # every visit, and most launches keep these at their defaults. Closed, each field
            # keeps what was typed in it (`persist_state`), or its default.
            with st.expander(_("Advanced ({count})").format(count=len(advanced)),
                             icon=":material/tune:", key=advanced_key(manifest),
                             on_change="rerun") as section:
                for spec in advanced:
                    if section.open:
                        draw(spec)
                    else:
                        kept(spec)
        st.button(_("Reset to defaults"), key=f"{PREFIX}.{form}.reset", on_click=_reset,
                  args=(manifest,), type="tertiary", icon=":material/restart_alt:")
    summary = st.empty()
    return ParameterForm(template_id=manifest.id, values=values, _field_slots=slots,
                         _summary_slot=summary)
