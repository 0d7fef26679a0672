from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.certificates.services import UploadedFile
from core.forms import AppForm


class GenerateForm(AppForm):
    alias = StringField(
        _l("Alias"),
        validators=[DataRequired(_l("Escribí un alias para el certificado.")), Length(max=50)],
        description=_l("El nombre con que ARCA identifica a este certificado (el «computador»)."),
    )


class UploadForm(AppForm):
    certificate_file = FileField(
        _l("Certificado que te dio ARCA (.crt, .pem o .der)"),
        validators=[FileRequired(_l("Elegí el archivo del certificado."))],
    )


class ImportPairForm(AppForm):
    key_file = FileField(
        _l("Clave privada (.key o .pem)"),
        validators=[FileRequired(_l("Elegí el archivo de la clave privada."))],
    )
    certificate_file = FileField(
        _l("Certificado (.crt, .pem o .der)"),
        validators=[FileRequired(_l("Elegí el archivo del certificado."))],
    )
    password = PasswordField(_l("Contraseña de la clave (si tiene)"), validators=[Length(max=200)])


class Pkcs12Form(AppForm):
    bundle = FileField(
        _l("Archivo PKCS#12 (.p12 o .pfx)"),
        validators=[FileRequired(_l("Elegí el archivo PKCS#12."))],
    )
    password = PasswordField(_l("Contraseña del archivo"), validators=[Length(max=200)])


class EmptyForm(AppForm):
    """Buttons that post nothing but the CSRF token."""


def uploaded(storage: FileStorage) -> UploadedFile:
    # The request size is bounded by MAX_CONTENT_LENGTH; the service judges the file's size.
    return UploadedFile(storage.filename or "archivo", storage.read())
