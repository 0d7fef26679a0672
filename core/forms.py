"""The base of every form: text fields read only text, file fields only files."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from werkzeug.datastructures import MultiDict
from wtforms.fields import FileField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class AppForm(FlaskForm):
    """Flask-WTF merges `request.files` into the form data, so a file part named like a text
    field would reach a StringField as a FileStorage (and text named like a file field would
    reach a FileField as a str). Here each field gets only its kind; JSON bodies are not forms."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is not _Auto:
                return formdata
            if not _is_submitted():
                return None
            return submitted_data({field.name for field in form if isinstance(field, FileField)})


def submitted_data(file_fields: Collection[str] = ()) -> MultiDict[str, Any] | None:
    """The request's text fields, plus its files named in `file_fields`; None when empty."""
    data: MultiDict[str, Any] = MultiDict()
    for key, values in request.form.lists():
        if key not in file_fields:
            data.setlist(key, values)
    for key, files in request.files.lists():
        if key in file_fields:
            data.setlist(key, files)
    return data or None


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (scopes, event types)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
