"""Survey screen: the optional satisfaction survey (IKM), three questions a page, big answers."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView, SurveyView
from kiosk_app.ui.screens.base import KioskScreen, load_kv, scroll_by, tr
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets.buttons import BigButton, ChoiceButton  # noqa: F401 - the .kv

TITLE = Text(
    "Survei kepuasan · halaman {n} dari {total}", "Satisfaction survey · page {n} of {total}"
)
INTRO = Text(
    "Bagaimana pelayanan kami hari ini? Sentuh satu jawaban untuk setiap pertanyaan. "
    "Survei ini tidak wajib dan tidak menyimpan nama atau NIK Anda.",
    "How was our service today? Touch one answer for each question. "
    "This survey is optional and keeps neither your name nor your NIK.",
)
SEND = Text("Kirim", "Send")
SKIP = Text("Lewati", "Skip")
PREVIOUS = Text("Kembali", "Back")  # the previous page, as "Kembali" on every screen
NEXT = Text("Berikutnya", "Next")
ANSWERED = Text("{n} dari 9 terjawab", "{n} of 9 answered")


def fmt(text: Text, lang: str, **values: Any) -> str:
    """A template in the current language with its values filled in."""
    return tr(text.format(**values), lang)


class SurveyScreen(KioskScreen):
    """Nine questions over three pages; every answer, page change, send and skip is a tap."""

    title_text = StringProperty("")
    answered_text = StringProperty("")
    page = NumericProperty(0)
    page_count = NumericProperty(1)
    overflow = BooleanProperty(False)  # larger text: the page scrolls with the ▲/▼ buttons

    def __init__(self, **kwargs: Any) -> None:
        """Nothing shown yet."""
        super().__init__(**kwargs)
        self._built: tuple[int, str, int] | None = None
        self._buttons: dict[tuple[str, int], ChoiceButton] = {}
        self._shown: SurveyView | None = None
        theme.bind(revision=self._restyle)  # large text toggled: rebuild with the new sizes

    def _restyle(self, *_args: Any) -> None:
        if self._shown is not None:
            self._built = None
            self._build(self._shown, self.lang)

    def update(self, view: SessionView) -> None:
        """Render the survey's snapshot."""
        survey: SurveyView | None = view.survey
        if survey is None:
            return
        lang = view.language
        self.page, self.page_count = survey.page, survey.page_count
        self.title_text = fmt(TITLE, lang, n=survey.page + 1, total=survey.page_count)
        self.answered_text = fmt(ANSWERED, lang, n=len(survey.answers))
        self.message = tr(survey.message, lang)
        self._shown = survey
        self._build(survey, lang)

    def _build(self, survey: SurveyView, lang: str) -> None:
        self._lay_out(survey, lang)
        for (code, value), button in self._buttons.items():
            button.selected = survey.answers.get(code) == value

    def _lay_out(self, survey: SurveyView, lang: str) -> None:
        key = (survey.page, lang, int(theme.sp_body))
        if key == self._built:
            return
        self._built = key
        rows = self.ids.survey_rows
        rows.clear_widgets()
        self._buttons = {}
        for element in survey.elements:
            row = BoxLayout(orientation="vertical", size_hint_y=None, spacing=theme.spacing)
            row.bind(minimum_height=row.setter("height"))
            question = Factory.SurveyQuestion(  # the theme's font and colours, kept up to date
                text=f"{element.code[1:]}. {element.question(lang)}"
            )
            question.pilot_id = f"survey_question_{element.code}"
            answers = Factory.SurveyAnswers()  # four answers a row, sized in survey.kv
            for value, words in enumerate(element.answers, start=1):
                button = ChoiceButton(
                    choice_key=str(value),
                    label=words,
                    lang=lang,
                    font_role="small",
                    auto_height=False,
                    size_hint_y=1,
                )
                button.pilot_id = f"survey_{element.code}_{value}"
                button.bind(on_release=self._answer(element.code, value))
                self._buttons[(element.code, value)] = button
                answers.add_widget(button)
            row.add_widget(question)
            row.add_widget(answers)
            rows.add_widget(row)
        self.ids.survey_scroll.scroll_y = 1

    def _answer(self, code: str, value: int) -> Any:
        return lambda *_: self.session.survey_answer(code, value)

    def scroll(self, direction: int) -> None:
        """Move the questions by most of a screenful (+1 down, -1 up)."""
        scroll_by(self.ids.survey_scroll, self.ids.survey_rows.height, direction)

    def left(self) -> None:
        """Forget the page (the answers live in the session until sent or skipped)."""
        self._built = None
        self._shown = None
        self._buttons = {}
        if "survey_rows" in self.ids:
            self.ids.survey_rows.clear_widgets()


load_kv("survey")
