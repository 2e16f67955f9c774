"""Form screen: one page of fields on the left, the editor of the selected field on the right."""

from __future__ import annotations

import datetime
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from kiosk_app.domain.form_variants import hidden_fields, required_now
from kiosk_app.domain.forms import FieldKind, FieldSpec, FormPage
from kiosk_app.domain.offers import offer
from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, scroll_by, tr
from kiosk_app.ui.screens.endings import back_to_menu
from kiosk_app.ui.screens.form_editors import (
    COUNT_SUFFIX,
    FROM_LIST,
    FUTURE_DATES,
    KEYBOARD_MODES,
    EditorParts,
    FieldInput,
    choice_columns,
    display_value,
)
from kiosk_app.ui.settle import changed_in_place
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import ChoiceButtons
from kiosk_app.ui.widgets.field import FieldRow
from kiosk_app.ui.widgets.regionpicker import office_town


class FormScreen(KioskScreen, EditorParts):
    """Fills one FormPage; every change goes straight to session.set_value."""

    overflow = BooleanProperty(False)  # more fields than fit: show the ▲/▼ buttons
    title_text = StringProperty("")
    step_text = StringProperty("")
    step_lines = StringProperty("")  # "Langkah" above "1 dari 10"
    editor_label = StringProperty("")
    editor_hint = StringProperty("")
    tall_editor = BooleanProperty(False)  # a keyboard or picker: in large text, no room for a hint

    def __init__(self, **kwargs: Any) -> None:
        """Start with no page shown."""
        super().__init__(**kwargs)
        self._page_key: tuple[str, int] | None = None
        self._page: FormPage | None = None
        self._shown: list[FieldSpec] = []  # the page's fields shown (list rows left out)
        self._rows: dict[str, FieldRow] = {}
        self._errors: set[str] = set()
        self.selected: str | None = None
        self.editing: str | None = None
        self.editor: Any = None
        self._editors: dict[str, Any] = {}
        self._typing_other: str | None = None  # a LIST field whose answer is being typed
        self._listing: str | None = None  # a LIST field holding a typed answer, list shown
        self.view: SessionView | None = None

    def prompt(self, view: SessionView) -> Text | None:
        """The service and page, the step, how to fill the page."""
        service = view.service
        if service is None or service.form is None or not 0 <= view.page < len(service.form.pages):
            return None
        page = service.form.pages[view.page]
        step = texts.STEP.format(n=view.page + 1, total=len(service.form.pages))
        return join(service.title, page.title, step, a11y_texts.FORM)

    # -- rendering ---------------------------------------------------------------------------
    def update(self, view: SessionView) -> None:
        """Rebuild on a new page; otherwise refresh values, errors and the language."""
        self.view = view
        service = view.service
        if service is None or service.form is None:
            return
        form = service.form
        if not 0 <= view.page < len(form.pages):
            return
        page = form.pages[view.page]
        self.title_text = f"{tr(service.title, view.language)} · {tr(page.title, view.language)}"
        self.step_text = texts.STEP.format(n=view.page + 1, total=len(form.pages))(view.language)
        self.step_lines = self.step_text.replace(" ", "\n", 1)
        key = (service.key, view.page)
        new_page = key != self._page_key
        hidden = hidden_fields(service.key, view.values)  # list rows beyond the number given
        fields = [f for f in page.fields if f.name not in hidden] or list(page.fields)
        if new_page:
            self._build_rows(page, fields)
            self._page_key = key
            changed_in_place()  # a double tap on "Lanjut" advances one page, not two
        elif [f.name for f in fields] != list(self._rows):
            self._rebuild_rows(page, fields)  # a row added or removed: keep the selection
        new_errors = set(view.errors) - self._errors
        self._errors = set(view.errors)
        for spec in fields:
            self._refresh_row(spec, view)
        if new_page:
            first_error = next((f.name for f in fields if f.name in view.errors), None)
            first_empty = next((f.name for f in fields if not view.values.get(f.name)), None)
            self.select(first_error or first_empty or fields[0].name)
        elif new_errors and self.selected not in view.errors:
            shown = [f.name for f in fields if f.name in view.errors]
            if shown:
                self.select(shown[0])
        elif self.editor is not None and hasattr(self.editor, "lang"):
            self.editor.lang = view.language
            self._refresh_editor_texts()

    def _rebuild_rows(self, page: FormPage, fields: list[FieldSpec]) -> None:
        """The rows shown changed (a list sized by a count): rebuild, keep the selected one."""
        selected = self.selected
        self._build_rows(page, fields, scroll_top=False)
        if selected in self._rows:
            self.selected = selected
            self._rows[selected].selected = True

    def _build_rows(self, page: FormPage, fields: list[FieldSpec], scroll_top: bool = True) -> None:
        self._page = page
        self._shown = fields
        box = self.ids.fields
        box.clear_widgets()
        self._rows = {}
        self.selected = None
        for spec in fields:
            row = FieldRow()
            row.pilot_id = f"field_{spec.name}"
            row.field_name = spec.name
            row.bind(on_select=self._on_row_select)
            self._rows[spec.name] = row
            box.add_widget(row)
        if scroll_top:
            self.ids.scroll.scroll_y = 1

    def _refresh_row(self, spec: FieldSpec, view: SessionView) -> None:
        row = self._rows.get(spec.name)
        if row is None:
            return
        lang = view.language
        label = tr(spec.label, lang)
        service = view.service.key if view.service else ""
        if not required_now(service, spec.name, view.values, spec.required):
            label = f"{label} {tr(texts.OPTIONAL, lang)}"
        row.lang = lang
        row.label_text = label
        row.value_text = display_value(spec, view.values.get(spec.name, ""), lang)
        row.hint_text = tr(spec.hint, lang) if spec.hint else tr(texts.EMPTY, lang)
        row.error_text = tr(view.errors.get(spec.name), lang)
        row.selected = spec.name == self.selected

    # -- selecting a field and its editor ----------------------------------------------------
    def _on_row_select(self, row: FieldRow) -> None:
        self.select(row.field_name)

    def select(self, name: str) -> None:
        """Select field `name` and show its editor."""
        if self._page is None or self.view is None:
            return
        spec = next((f for f in self._shown if f.name == name), None)
        if spec is None or name not in self._rows:
            return
        if name not in (self._typing_other, self._listing):
            self._typing_other = self._listing = None
        self.selected = name
        for field_name, row in self._rows.items():
            row.selected = field_name == name
        self._show_editor(spec, self.view.values.get(name, ""))
        self._scroll_to(self._rows[name])

    def _scroll_to(self, row: FieldRow) -> None:
        """After the next layout pass, keep the selected row in view."""
        Clock.schedule_once(lambda _dt: self._scroll_now(row), 0)

    def _scroll_now(self, row: FieldRow) -> None:
        scroll = self.ids.scroll
        if row.parent is None:
            return
        if self.ids.fields.height <= scroll.height:
            scroll.scroll_y = 1
        else:
            scroll.scroll_to(row, padding=theme.padding, animate=False)

    def check_overflow(self) -> None:
        """Show the scroll buttons only when the fields do not fit."""
        self.overflow = self.ids.fields.height > self.ids.scroll.height + 1

    def scroll_fields(self, direction: int) -> None:
        """Scroll the field list by most of its visible height (+1 down, -1 up)."""
        scroll_by(self.ids.scroll, self.ids.fields.height, direction)

    def _show_editor(self, spec: FieldSpec, value: str) -> None:
        """Put the editor for `spec` in the right part (editors are reused: they are costly)."""
        area = self.ids.editor
        self.editing = None  # no set_value while the editor is being loaded
        area.clear_widgets()
        lang = self.lang
        self.editor_spec = spec
        self.tall_editor = spec.kind in KEYBOARD_MODES or spec.kind in (
            FieldKind.DATE,
            FieldKind.TIME,
            FieldKind.LIST,
        )
        listed = {c.key for c in spec.choices}
        typing = spec.kind is FieldKind.LIST and (
            self._typing_other == spec.name
            or (value and value not in listed and self._listing != spec.name)
        )
        if spec.kind is FieldKind.LIST and not typing:
            picker = self._cached("list", self._make_list_picker)
            picker.value, picker.lang = value, lang
            picker.choices = [(c.key, c.label) for c in spec.choices]
            picker.show_value()
            area.add_widget(picker)
            self.editor = picker
        elif spec.kind is FieldKind.NUMBER and spec.name.endswith(COUNT_SUFFIX):
            # a count that sizes a list of rows (the members who move): "+" adds a row, "-"
            # takes the last one away
            picker = self._cached("count", self._make_count_picker)
            picker.value, picker.lang = value, lang
            area.add_widget(picker)
            area.add_widget(Widget())
            self.editor = picker
        elif spec.kind in KEYBOARD_MODES or typing:
            field_input, keyboard = self._keyboard(KEYBOARD_MODES.get(spec.kind, "text"))
            field_input.max_length = spec.max_length
            field_input.text = value
            keyboard.lang = lang
            keyboard.attach(field_input)
            area.add_widget(self._input_row(spec, field_input, lang))
            area.add_widget(keyboard)
            area.add_widget(Widget())
            self.editor = keyboard
        elif spec.kind is FieldKind.DATE:
            picker = self._cached("date", self._make_date_picker)
            # a planned date (moving) may lie in the next year; every other date is past
            picker.max_year = datetime.date.today().year + (1 if spec.name in FUTURE_DATES else 0)
            picker.start_value = self._date_start(spec)
            picker.year_first = picker.start_value[:4] != str(datetime.date.today().year)
            picker.value = value
            picker.lang = lang
            picker.reset()
            area.add_widget(picker)
            self.editor = picker
        elif spec.kind is FieldKind.REGION:
            picker = self._cached("region", self._make_region_field)
            picker.level, picker.value, picker.lang = spec.region_level, value, lang
            area.add_widget(picker)
            area.add_widget(Widget())
            self.editor = picker
        elif spec.kind is FieldKind.TIME:
            picker = self._cached("time", self._make_time_picker)
            service = self.view.service.key if self.view and self.view.service else ""
            values = self.view.values if self.view else {}
            picker.optional = not required_now(service, spec.name, values, spec.required)
            picker.value, picker.lang = value, lang
            picker.reset()
            area.add_widget(picker)
            self.editor = picker
        else:
            choices = ChoiceButtons(
                choices=[(c.key, c.label) for c in spec.choices],
                value=value,
                lang=lang,
                max_cols=choice_columns(spec),
            )
            choices.pilot_id = "choices"
            choices.bind(value=self._chose)
            area.add_widget(choices)
            area.add_widget(Widget())
            self.editor = choices
        self.editing = spec.name
        self._refresh_editor_texts()
        # Another editor (a choice's second tap would pick in the next field's): settle.
        changed_in_place()

    def _input_row(self, spec: FieldSpec, field_input: FieldInput, lang: str) -> Any:
        """The text box, beside it one button for what the kiosk already knows (formkit.offer):
        another field's value (SAME_AS), the office's own kabupaten/kota for a place, a
        parent's last name to add to a child's; a list field being typed: back to its list."""
        row = self._cached("input_row", lambda: BoxLayout(spacing=theme.spacing * 2))
        copy = self._cached("same_as", self._make_copy_button)
        copy.pilot_id = "same_as"
        row.clear_widgets()
        if field_input.parent is not None:
            field_input.parent.remove_widget(field_input)
        row.size_hint_y, row.height = None, field_input.height
        row.add_widget(field_input)
        values = self.view.values if self.view is not None else {}
        found = offer(spec.name, values, office_town())
        if spec.kind is FieldKind.LIST:  # typing an answer not in the list: back to it
            copy.mode, copy.fill, copy.text = "list", "", f"‹  {tr(FROM_LIST, lang)}"
            row.add_widget(copy)
        elif found is not None:
            copy.mode, copy.fill, copy.text = found.mode, found.value, tr(found.label, lang)
            row.add_widget(copy)
        return row

    def _copy_same(self, button: Any) -> None:
        """Fill in (or add) what the button offers, then move on (a list field being typed:
        back to its list)."""
        if self.view is None or self.editing is None:
            return
        name = self.editing
        if button.mode == "list":
            self._typing_other, self._listing = None, name
            self._show_editor(self.editor_spec, self.view.values.get(name, ""))
            return
        field_input = self._editors.get("input")
        if field_input is None:
            return
        typed = field_input.text.strip()
        if button.mode == "prefix":  # the first digits: the citizen types the rest
            field_input.text = button.fill
            return
        if button.mode == "fill":
            field_input.text = button.fill
        elif not typed.endswith(button.fill):  # "append": a parent's name after the first ones
            field_input.text = f"{typed} {button.fill}".strip()
        Clock.schedule_once(lambda _dt: self._move_on(name), 0)

    def _type_other(self, _picker: Any) -> None:
        """ "Lainnya (ketik)": the keyboard for an answer not in the list."""
        if self.editing is None or self.view is None:
            return
        self._typing_other = self.editing
        value = self.view.values.get(self.editing, "")
        listed = {c.key for c in self.editor_spec.choices}
        self._show_editor(self.editor_spec, "" if value in listed else value)

    def _refresh_editor_texts(self) -> None:
        spec = getattr(self, "editor_spec", None)
        if spec is None:
            return
        self.editor_label = tr(spec.label, self.lang)
        self.editor_hint = tr(spec.hint, self.lang) if spec.hint else ""

    def _typed(self, _input: Any, text: str) -> None:
        name = self.editing
        if name is None:
            return
        self.session.set_value(name, text)
        spec, view = getattr(self, "editor_spec", None), self.view
        if spec is None or spec.kind is not FieldKind.DIGITS or len(text) != spec.max_length:
            return
        # a number of fixed length (NIK, KK) complete and right: on to the next field
        form = view.service.form if view is not None and view.service else None
        if view is not None and form is not None:
            if name not in form.validate({**view.values, name: text}).errors:
                Clock.schedule_once(lambda _dt: self._move_on(name, page=False), 0)

    def _picked(self, _picker: Any, value: str) -> None:
        if self.editing is not None:
            self.session.set_value(self.editing, value)

    def _chose(self, _choices: Any, value: str) -> None:
        """An option touched: stored, then on to the next field (or page, when it is alone)."""
        name = self.editing
        if name is None or not value:
            return
        self.session.set_value(name, value)
        Clock.schedule_once(lambda _dt: self._move_on(name), 0)

    def _done(self, _picker: Any) -> None:
        """A date, a time or an answer of a list complete: on, as after a choice."""
        name = self.editing
        if name is not None:
            Clock.schedule_once(lambda _dt: self._move_on(name), 0)

    def _move_on(self, name: str, page: bool = True) -> None:
        """After `name` was answered with a touch: the next field of the page, or the next page
        when it is the page's only field and `page` (one touch fewer each time)."""
        if self.editing != name or self.view is None:
            return  # the citizen moved on already, or the screen changed
        names = [f.name for f in self._shown]
        if names == [name]:
            if page:
                self.go_next()
        elif name in names and names.index(name) + 1 < len(names):
            self.select(names[names.index(name) + 1])

    def _on_key(self, _keyboard: Any, key: str) -> None:
        """ "Selesai" on the keyboard moves to the next field of the page."""
        if key != "done" or self._page is None or self.selected is None:
            return
        names = [f.name for f in self._shown]
        if self.selected not in names:
            return
        index = names.index(self.selected)
        if index + 1 < len(names):
            self.select(names[index + 1])

    # -- navigation --------------------------------------------------------------------------
    def go_next(self) -> None:
        """Validate and continue (every value already reached the service)."""
        self.session.next_page()

    def go_back(self) -> None:
        """One page back (page 1 goes back to the menu, asking first when it loses typing)."""
        if self.view is not None and self.view.page == 0:
            back_to_menu(self)
        else:
            self.session.previous_page()

    def left(self) -> None:
        """Forget the page (and the personal data in it) when another screen takes over."""
        self._page_key = None
        self.editing = None
        if self.editor is not None and hasattr(self.editor, "detach"):
            self.editor.detach()
        for editor in self._editors.values():  # no personal data may linger in them
            if hasattr(editor, "value"):
                editor.value = ""
            elif isinstance(editor, TextInput):
                editor.text = ""
        self.ids.editor.clear_widgets()
        self.ids.fields.clear_widgets()
        self._rows = {}
        self._shown = []
        self.editor = None
        self.selected = None
        self._typing_other = self._listing = None


load_kv("form")
