"""Parsing the padrón's answers (pure): ARCA's recorded constancias, the IVA rule, faults."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from arca.environments import get_environment, sandbox_environment
from arca.padron import (
    CONSUMIDOR_FINAL,
    EXENTO,
    MONOTRIBUTO,
    RESPONSABLE_INSCRIPTO,
    Address,
    PadronAuthRejected,
    PadronFault,
    Taxpayer,
    TaxpayerInactive,
    TaxpayerNotFound,
    compute_iva_condition,
    fault_for,
    parse_a13,
    parse_constancia,
)

# ARCA's answer for 20201797064, pyafipws tests/cassettes/test_ws_sr_padron/test_consultar.yaml
# (only the personaReturn; the accents as ARCA sent them).
RECORDED_RI = """<personaReturn><datosGenerales><apellido>VICTORIA CAROLINA</apellido>
<domicilioFiscal><codPostal>1030</codPostal><descripcionProvincia>CIUDAD AUTONOMA BUENOS AIRES
</descripcionProvincia><direccion>LARREA 1</direccion><idProvincia>0</idProvincia>
<tipoDomicilio>FISCAL</tipoDomicilio></domicilioFiscal><estadoClave>ACTIVO</estadoClave>
<idPersona>20201797064</idPersona><mesCierre>12</mesCierre><nombre>DARIO</nombre>
<tipoClave>CUIT</tipoClave><tipoPersona>FISICA</tipoPersona></datosGenerales>
<datosRegimenGeneral><actividad><descripcionActividad>SUMINISTRO DE VAPOR Y AIRE ACONDICIONADO
</descripcionActividad><idActividad>353001</idActividad><nomenclador>883</nomenclador>
<orden>2</orden><periodo>201311</periodo></actividad><actividad><descripcionActividad>FORMACIÓN
DE POSGRADO</descripcionActividad><idActividad>853300</idActividad><nomenclador>883</nomenclador>
<orden>1</orden><periodo>201311</periodo></actividad><impuesto><descripcionImpuesto>GANANCIAS
PERSONAS FISICAS</descripcionImpuesto><idImpuesto>11</idImpuesto><periodo>201101</periodo>
</impuesto><impuesto><descripcionImpuesto>IVA</descripcionImpuesto><idImpuesto>30</idImpuesto>
<periodo>201101</periodo></impuesto><impuesto><descripcionImpuesto>DACIÓN EN PAGO DE
ESP.PUBLICI.</descripcionImpuesto><idImpuesto>936</idImpuesto><periodo>200701</periodo>
</impuesto></datosRegimenGeneral><errorMonotributo><error>Datos de monotributo incompletos- no
posee categoría</error><mensaje>No cumple con las condiciones para enviar datos monotributo
</mensaje></errorMonotributo><metadata><fechaHora>2021-08-10T18:10:22.424-03:00</fechaHora>
<servidor>setiwsh2</servidor></metadata></personaReturn>"""

# ARCA's answer for 20000000516, pyafipws tests/cassettes/test_ws_sr_padron/test_main.yaml.
RECORDED_NO_GENERAL_REGIME = """<personaReturn><datosGenerales><apellido>ERNESTO DANIEL</apellido>
<domicilioFiscal><codPostal>8371</codPostal><datoAdicional>N/A PATRICIA ANDREA</datoAdicional>
<descripcionProvincia>NEUQUEN</descripcionProvincia><direccion>LAGUNA LOS SAUCES 2</direccion>
<idProvincia>20</idProvincia><localidad>JUNIN DE LOS ANDES</localidad><tipoDatoAdicional>NO
DETERMINADO</tipoDatoAdicional><tipoDomicilio>FISCAL</tipoDomicilio></domicilioFiscal>
<estadoClave>ACTIVO</estadoClave><idPersona>20000000516</idPersona><mesCierre>12</mesCierre>
<nombre>MARCELO NICOLAS</nombre><tipoClave>CUIT</tipoClave><tipoPersona>FISICA</tipoPersona>
</datosGenerales><errorRegimenGeneral><error>El contribuyente cuenta con impuestos con baja de
oficio por Decreto 1299/98</error><mensaje>No cumple con las condiciones para enviar datos del
regimen general</mensaje></errorRegimenGeneral><metadata><fechaHora>2021-08-11T10:57:15.249-03:00
</fechaHora><servidor>setiwsh2</servidor></metadata></personaReturn>"""


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def test_recorded_responsable_inscripto() -> None:
    taxpayer = parse_constancia(xml(RECORDED_RI), "20201797064")
    assert taxpayer.name == "VICTORIA CAROLINA DARIO"
    assert taxpayer.kind == "FISICA" and taxpayer.is_active
    assert taxpayer.iva_condition == RESPONSABLE_INSCRIPTO
    assert taxpayer.address == Address(
        "LARREA 1", "", "CIUDAD AUTONOMA BUENOS AIRES", "1030", province_id=0
    )
    assert taxpayer.address.one_line() == "LARREA 1, (1030), CIUDAD AUTONOMA BUENOS AIRES"
    assert [activity.id for activity in taxpayer.activities] == [853300, 353001]  # by `orden`
    assert taxpayer.tax_ids == (11, 30, 936)
    assert taxpayer.notices == ("Datos de monotributo incompletos- no posee categoría",)


def test_recorded_answer_without_tax_blocks_is_a_final_consumer() -> None:
    taxpayer = parse_constancia(xml(RECORDED_NO_GENERAL_REGIME), "20000000516")
    assert taxpayer.name == "ERNESTO DANIEL MARCELO NICOLAS"
    assert taxpayer.iva_condition == CONSUMIDOR_FINAL
    assert taxpayer.address is not None
    assert taxpayer.address.one_line() == "LAGUNA LOS SAUCES 2, JUNIN DE LOS ANDES (8371), NEUQUEN"
    assert taxpayer.notices == (
        "El contribuyente cuenta con impuestos con baja de oficio por Decreto 1299/98",
    )


@pytest.mark.parametrize(
    ("taxes", "category", "expected"),
    [
        ({30, 32}, None, EXENTO),  # exempt wins, as in pyafipws' analizar_datos
        ({30, 20}, None, RESPONSABLE_INSCRIPTO),
        ({20}, None, MONOTRIBUTO),
        (set(), "B LOCACIONES DE SERVICIO", MONOTRIBUTO),
        ({11}, None, CONSUMIDOR_FINAL),
    ],
)
def test_iva_rule(taxes: set[int], category: str | None, expected: int) -> None:
    assert compute_iva_condition(taxes, category) == expected


def test_an_ended_tax_does_not_count() -> None:
    answer = RECORDED_RI.replace(
        "<descripcionImpuesto>IVA</descripcionImpuesto>",
        "<descripcionImpuesto>IVA</descripcionImpuesto><estadoImpuesto>BD</estadoImpuesto>",
    )
    assert parse_constancia(xml(answer), "20201797064").iva_condition == CONSUMIDOR_FINAL


def test_error_constancia_leaves_the_condition_open() -> None:
    answer = RECORDED_RI.replace(
        "<metadata>",
        "<errorConstancia><error>Domicilio Incompleto</error></errorConstancia><metadata>",
    )
    taxpayer = parse_constancia(xml(answer), "20201797064")
    assert taxpayer.iva_condition is None and "Domicilio Incompleto" in taxpayer.notices


def test_only_error_constancia_is_not_found() -> None:
    """The manual's shape for an unknown CUIT in the list operations."""
    answer = (
        "<persona><errorConstancia><error>No existe persona con ese Id</error>"
        "<idPersona>12345678901</idPersona></errorConstancia></persona>"
    )
    with pytest.raises(TaxpayerNotFound, match="No existe persona"):
        parse_constancia(xml(answer), "12345678901")


def test_deceased_date_and_inactive_state() -> None:
    answer = RECORDED_RI.replace(
        "<estadoClave>ACTIVO</estadoClave>",
        "<estadoClave>INACTIVO</estadoClave>"
        "<fechaFallecimiento>2024-03-15T00:00:00-03:00</fechaFallecimiento>",
    )
    taxpayer = parse_constancia(xml(answer), "20201797064")
    assert taxpayer.deceased_on == dt.date(2024, 3, 15) and not taxpayer.is_active


def test_a13_prefers_the_fiscal_address() -> None:
    """The manual's example (A13 v1.4, 3.2.3), with a legal address before the fiscal one."""
    answer = """<persona><apellido>INTENTAR</apellido>
    <domicilio><codigoPostal>1000</codigoPostal><direccion>OTRA 1</direccion>
    <tipoDomicilio>LEGAL/REAL</tipoDomicilio></domicilio>
    <domicilio><calle>AV LOS INCAS</calle><codigoPostal>5881</codigoPostal>
    <descripcionProvincia>SAN LUIS</descripcionProvincia><direccion>AV LOS INCAS 4137</direccion>
    <estadoDomicilio>CONFIRMADO</estadoDomicilio><idProvincia>11</idProvincia>
    <localidad>MERLO</localidad><numero>4137</numero><tipoDomicilio>FISCAL</tipoDomicilio>
    </domicilio><estadoClave>ACTIVO</estadoClave><idActividadPrincipal>551023</idActividadPrincipal>
    <idPersona>27015942210</idPersona><nombre>JAZMIN</nombre><tipoPersona>FISICA</tipoPersona>
    </persona>"""
    taxpayer = parse_a13(xml(answer), "27015942210")
    assert taxpayer.name == "INTENTAR JAZMIN" and taxpayer.iva_condition is None
    assert taxpayer.address is not None and taxpayer.address.street == "AV LOS INCAS 4137"
    assert taxpayer.source == "A13"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("No existe persona con ese Id", TaxpayerNotFound),
        ("La Clave (CUIT/CUIL) consultada es inexistente", TaxpayerNotFound),
        ("La clave (CUIT/CUIL) consultada se encuentra INACTIVA", TaxpayerInactive),
        ("Falta token y/o sign.", PadronAuthRejected),
        ("Token malformado", PadronAuthRejected),
        ("Este token no le permite actuar en representacion de la CUIT 1", PadronAuthRejected),
        ("java.lang.NullPointerException", PadronFault),
    ],
)
def test_faults_by_text(text: str, kind: type[PadronFault]) -> None:
    assert type(fault_for("soap:Server", text)) is kind


def test_cache_round_trip() -> None:
    taxpayer = parse_constancia(xml(RECORDED_RI), "20201797064")
    assert Taxpayer.from_dict(taxpayer.to_dict()) == taxpayer


def test_padron_urls_per_environment() -> None:
    homologacion = get_environment("homologacion")
    assert homologacion.padron_a5_url == (
        "https://awshomo.afip.gov.ar/sr-padron/webservices/personaServiceA5"
    )
    assert get_environment("produccion").padron_a13_url == (
        "https://aws.afip.gov.ar/sr-padron/webservices/personaServiceA13"
    )
    assert "https://awshomo.afip.gov.ar/" in homologacion.base_urls
    sandbox = sandbox_environment("http://127.0.0.1:8085/")
    assert sandbox.padron_a5_url == "http://127.0.0.1:8085/sr-padron/webservices/personaServiceA5"
