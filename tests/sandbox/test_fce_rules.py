"""The sandbox's FCE MiPyME rules (types 201-213), one test per ARCA code, over raw SOAP.

Codes and their meaning come from ARCA's WSFEv1 manual (validations 10003, 10015, 10042 and
10151-10216); the only recorded FCE answer is the note's date window (pyafipws
tests/cassettes/test_wsfev1/test_main_prueba_fce.yaml).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from werkzeug.test import Client

from arca.environments import sandbox_environment
from arca.fce import invoice_optionals, note_optionals
from arca.sandbox import Sandbox
from arca.sandbox.clock import ARGENTINA
from arca.transport import Timeouts, build_session
from arca.wsaa import WsaaClient
from arca.wsaa import build_tra as wsaa_tra
from arca.wsaa import sign_tra as wsaa_sign
from arca.wsfe import (
    AssociatedVoucher,
    CaeRequest,
    VatAmount,
    VoucherDetail,
    WsfeClient,
    static_auth,
)
from tests.sandbox.helpers import (
    ISSUER,
    NS,
    auth_xml,
    body_of,
    cae_request,
    call_wsfe,
    codes,
    detail_xml,
    login,
)

TODAY = date(2026, 12, 4)
LARGE_COMPANY = "30500010912"  # obligated to receive FCE in the sandbox (wsfecred_data)
SMALL_COMPANY = "30712345671"  # a valid CUIT that is not
CBU = "2850590940090418135201"


def ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def frozen_auth(client: Client, sandbox: Sandbox, moment: datetime) -> str:
    """Auth for ISSUER with the sandbox frozen at `moment` (a certificate issued then, so that
    it is valid whatever the real date)."""
    sandbox.clock.freeze(moment)
    key, cert = sandbox.ca.issue_key_and_certificate(ISSUER)
    return auth_xml(*login(client, key, cert, sandbox.clock.now()))


@pytest.fixture
def fce_auth(client: Client, sandbox: Sandbox) -> str:
    """Auth with the sandbox frozen on TODAY (Argentina), so dates are repeatable."""
    return frozen_auth(client, sandbox, datetime(2026, 12, 4, 12, tzinfo=ARGENTINA))


def optionals(*pairs: tuple[str, str]) -> str:
    rows = "".join(f"<Opcional><Id>{i}</Id><Valor>{v}</Valor></Opcional>" for i, v in pairs)
    return f"<Opcionales>{rows}</Opcionales>"


INVOICE_OPTIONALS = optionals(("2101", CBU), ("27", "SCA"))


def fce_invoice(number: int, extra: str = INVOICE_OPTIONALS, **overrides: str) -> str:
    """A Factura de Crédito A (201) to a large company: 100 + 21 % VAT, due in 30 days."""
    fields = {
        "DocTipo": "80",
        "DocNro": LARGE_COMPANY,
        "FchVtoPago": ymd(TODAY + timedelta(days=30)),
        "CondicionIVAReceptorId": "1",
        "Extra": extra,
    }
    return detail_xml(number, **{**fields, **overrides})


def associated(tipo: int = 201, nro: int = 1, cuit: str = ISSUER, day: date | None = TODAY) -> str:
    parts = f"<Tipo>{tipo}</Tipo><PtoVta>1</PtoVta><Nro>{nro}</Nro>"
    parts += f"<Cuit>{cuit}</Cuit>" if cuit else ""
    parts += f"<CbteFch>{ymd(day)}</CbteFch>" if day is not None else ""
    return f"<CbteAsoc>{parts}</CbteAsoc>"


def fce_note(
    number: int, extra: str = optionals(("22", "N")), asoc: str | None = None, **overrides: str
) -> str:
    """A Nota de Crédito A (203) for the first 201, not an anulación."""
    fields = {
        "DocTipo": "80",
        "DocNro": LARGE_COMPANY,
        "CondicionIVAReceptorId": "1",
        "CbtesAsoc": associated() if asoc is None else asoc,
        "Extra": extra,
    }
    return detail_xml(number, **{**fields, **overrides})


def solicitar(client: Client, auth: str, details: list[str], cbte_tipo: int = 201, **kw: int):
    response = call_wsfe(client, "FECAESolicitar", cae_request(auth, details, 1, cbte_tipo, **kw))
    assert response.status_code == 200, response.get_data(as_text=True)
    return body_of(response)


def obs(result: etree._Element) -> list[int]:
    return codes(result, ".//f:Obs")


def resultado(result: etree._Element) -> str:
    return result.findtext(".//f:FeCabResp/f:Resultado", namespaces=NS) or ""


def with_invoice(client: Client, auth: str) -> None:
    """Authorise 201 number 1 dated TODAY, for the notes to reference."""
    assert resultado(solicitar(client, auth, [fce_invoice(1)])) == "A"


# --- approvals ------------------------------------------------------------------------------------


def test_a_complete_fce_invoice_and_note_are_approved(client: Client, fce_auth: str) -> None:
    with_invoice(client, fce_auth)
    note = solicitar(client, fce_auth, [fce_note(1)], cbte_tipo=203)
    assert resultado(note) == "A" and obs(note) == []


def test_an_anulacion_note_may_carry_a_payment_date(client: Client, fce_auth: str) -> None:
    with_invoice(client, fce_auth)
    due = ymd(TODAY + timedelta(days=5))
    note = fce_note(1, extra=optionals(("22", "S")), FchVtoPago=due)
    assert obs(solicitar(client, fce_auth, [note], cbte_tipo=203)) == []


# --- request level --------------------------------------------------------------------------------


def test_10003_one_fce_voucher_per_request(client: Client, fce_auth: str) -> None:
    result = solicitar(client, fce_auth, [fce_invoice(1), fce_invoice(2)])
    assert codes(result, ".//f:Err") == [10003] and resultado(result) == "R"


# --- receiver -------------------------------------------------------------------------------------


def test_10015_fce_receiver_must_be_a_cuit(client: Client, fce_auth: str) -> None:
    detail = fce_invoice(
        1, DocTipo="86", ImpNeto="121.00", ImpIVA="0", Iva="", CondicionIVAReceptorId="1"
    )
    assert 10015 in obs(solicitar(client, fce_auth, [detail], cbte_tipo=211))


def test_10178_no_categorizado_is_refused(client: Client, fce_auth: str) -> None:
    detail = fce_invoice(1, DocNro="23000000000")
    assert 10178 in obs(solicitar(client, fce_auth, [detail]))


def test_10180_receiver_must_be_a_large_company(client: Client, fce_auth: str) -> None:
    assert obs(solicitar(client, fce_auth, [fce_invoice(1, DocNro=SMALL_COMPANY)])) == [10180]


# --- optionals ------------------------------------------------------------------------------------


def test_10162_optionals_are_mandatory(client: Client, fce_auth: str) -> None:
    assert obs(solicitar(client, fce_auth, [fce_invoice(1, extra="")])) == [10162]


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ((("2101", CBU[:-1]), ("27", "SCA")), 10165),  # CBU of 21 digits
        ((("2101", CBU), ("2102", "ab"), ("27", "SCA")), 10166),  # alias too short
        ((("2101", CBU), ("27", "SCAX")), 10214),  # 27 is 3 characters
        ((("2101", CBU), ("27", "XYZ")), 10215),  # 27 is SCA or ADC
        ((("2101", CBU), ("27", "ADC"), ("23", "R" * 51)), 10189),  # reference over 50
        ((("2101", CBU), ("27", "ADC"), ("23", "OC-1"), ("23", "OC-1")), 10190),  # repeated
        ((("27", "SCA"),), 10168),  # invoice without CBU
        ((("2101", CBU), ("27", "SCA"), ("22", "N")), 10171),  # invoice with anulación
        ((("2101", CBU),), 10216),  # invoice without transferencia
        ((("2102", "mi.alias.fce"),), 10170),  # none of 2101, 22, 27
    ],
)
def test_invoice_optionals(
    client: Client, fce_auth: str, pairs: tuple[tuple[str, str], ...], code: int
) -> None:
    assert code in obs(solicitar(client, fce_auth, [fce_invoice(1, extra=optionals(*pairs))]))


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ((("22", "X"),), 10167),  # 22 is S or N
        ((("22", "N"), ("2101", CBU)), 10172),  # no CBU on notes
        ((("23", "OC-1"),), 10173),  # notes must say whether they cancel
    ],
)
def test_note_optionals(
    client: Client, fce_auth: str, pairs: tuple[tuple[str, str], ...], code: int
) -> None:
    with_invoice(client, fce_auth)
    note = fce_note(1, extra=optionals(*pairs))
    assert code in obs(solicitar(client, fce_auth, [note], cbte_tipo=203))


# --- payment date ---------------------------------------------------------------------------------


def test_10163_fce_invoice_needs_a_payment_date(client: Client, fce_auth: str) -> None:
    assert obs(solicitar(client, fce_auth, [fce_invoice(1, FchVtoPago="")])) == [10163]


def test_10164_payment_date_not_before_today(client: Client, fce_auth: str) -> None:
    yesterday = ymd(TODAY - timedelta(days=1))
    detail = fce_invoice(1, CbteFch=yesterday, FchVtoPago=yesterday)
    assert obs(solicitar(client, fce_auth, [detail])) == [10164]


def test_10175_no_payment_date_on_a_plain_note(client: Client, fce_auth: str) -> None:
    with_invoice(client, fce_auth)
    note = fce_note(1, FchVtoPago=ymd(TODAY + timedelta(days=5)))
    assert obs(solicitar(client, fce_auth, [note], cbte_tipo=203)) == [10175]


# --- dates ----------------------------------------------------------------------------------------


def test_10016_fce_invoice_window_is_n_minus_5_to_n_plus_1(client: Client, fce_auth: str) -> None:
    late = fce_invoice(1, CbteFch=ymd(TODAY + timedelta(days=2)))
    assert obs(solicitar(client, fce_auth, [late])) == [10016]
    tomorrow = fce_invoice(1, CbteFch=ymd(TODAY + timedelta(days=1)))
    assert obs(solicitar(client, fce_auth, [tomorrow])) == []


def test_10016_fce_note_window_has_arcas_text(client: Client, fce_auth: str) -> None:
    """ARCA's answer to a 203 dated 21 days back (pyafipws
    tests/cassettes/test_wsfev1/test_main_prueba_fce.yaml)."""
    old = ymd(TODAY - timedelta(days=6))
    result = solicitar(client, fce_auth, [fce_note(1, CbteFch=old, asoc=associated(day=None))], 203)
    assert 10016 in obs(result)
    texts = [m.text for m in result.iterfind(".//f:Obs/f:Msg", NS)]
    assert (
        "Campo CbteFch Debe estar comprendido  en el  rango  N-5 y N siendo N la fecha de envio "
        "del pedido de autorizacion para Facturas de Credito del tipo Nota de Debito o Nota de "
        "Credito"
    ) in texts


def test_10152_fce_future_date_in_the_same_month(client: Client, sandbox: Sandbox) -> None:
    auth = frozen_auth(client, sandbox, datetime(2026, 11, 30, 12, tzinfo=ARGENTINA))
    detail = fce_invoice(1, CbteFch="20261201", FchVtoPago="20261231")
    assert obs(solicitar(client, auth, [detail])) == [10152]


# --- associated vouchers --------------------------------------------------------------------------


def test_10196_no_periodo_asoc_on_fce(client: Client, fce_auth: str) -> None:
    periodo = (
        "<PeriodoAsoc><FchDesde>20261101</FchDesde><FchHasta>20261130</FchHasta></PeriodoAsoc>"
    )
    result = solicitar(client, fce_auth, [fce_invoice(1, extra=INVOICE_OPTIONALS + periodo)])
    assert 10196 in obs(result)


def test_10153_fce_note_needs_associated_vouchers(client: Client, fce_auth: str) -> None:
    assert 10153 in obs(solicitar(client, fce_auth, [fce_note(1, asoc="")], cbte_tipo=203))


@pytest.mark.parametrize(
    ("asoc", "code"),
    [
        (associated(cuit=""), 10151),  # the issuer's CUIT is required
        (associated(cuit=LARGE_COMPANY), 10155),  # and must be ours
        (associated(day=None), 10158),  # the associated date is required
        (associated(day=TODAY + timedelta(days=1)), 10159),  # and not after the note's
        (associated(tipo=202), 10156),  # a plain note associates the invoice
        (associated() + associated(tipo=203), 10157),  # and only the invoice
        (associated(nro=99), 10160),  # which must exist
        (associated(day=TODAY - timedelta(days=1)), 10160),  # with the date sent
    ],
)
def test_note_associations(client: Client, fce_auth: str, asoc: str, code: int) -> None:
    with_invoice(client, fce_auth)
    assert code in obs(solicitar(client, fce_auth, [fce_note(1, asoc=asoc)], cbte_tipo=203))


def test_10181_note_in_the_associated_currency(client: Client, fce_auth: str) -> None:
    with_invoice(client, fce_auth)  # in pesos
    note = fce_note(1, MonId="DOL", MonCotiz="1050")
    assert 10181 in obs(solicitar(client, fce_auth, [note], cbte_tipo=203))


# --- other ----------------------------------------------------------------------------------------


def test_10042_tributo_description_required_on_fce(client: Client, fce_auth: str) -> None:
    tributo = "<Tributo><Id>99</Id><BaseImp>100</BaseImp><Alic>1</Alic><Importe>1.00</Importe>"
    detail = fce_invoice(1, ImpTotal="122.00", ImpTrib="1.00", Tributos=tributo + "</Tributo>")
    assert obs(solicitar(client, fce_auth, [detail])) == [10042]


def test_10194_no_buyers_on_fce(client: Client, fce_auth: str) -> None:
    buyers = "<Compradores><Comprador><DocTipo>80</DocTipo><DocNro>20111111112</DocNro>"
    buyers += "<Porcentaje>100</Porcentaje></Comprador></Compradores>"
    result = solicitar(client, fce_auth, [fce_invoice(1, extra=INVOICE_OPTIONALS + buyers)])
    assert 10194 in obs(result)


def test_fce_optionals_change_nothing_for_other_types(client: Client, fce_auth: str) -> None:
    """The FCE rules only look at 201-213: a Factura A with FCE optionals is approved."""
    detail = fce_invoice(1, FchVtoPago="", DocNro=SMALL_COMPANY)
    assert obs(solicitar(client, fce_auth, [detail], cbte_tipo=1)) == []


# --- through the project's client -----------------------------------------------------------------


def test_fce_invoice_and_note_through_the_client(sandbox: Sandbox) -> None:
    """`arca.wsfe` with `arca.fce`'s optionals: what the app will send."""
    moment = datetime(2026, 12, 4, 12, tzinfo=ARGENTINA)
    sandbox.clock.freeze(moment)
    environment = sandbox_environment()
    with build_session(environment, sandbox) as http:
        key, cert = sandbox.ca.issue_key_and_certificate(ISSUER)
        cms = wsaa_sign(wsaa_tra("wsfe", sandbox.clock.now()), cert, key)
        ticket = WsaaClient(environment, http, Timeouts()).login(cms)
        wsfe = WsfeClient(
            environment, http, Timeouts(), static_auth(ticket.token, ticket.sign, ISSUER)
        )
        invoice = client_detail(
            1, payment_due=TODAY + timedelta(days=30), optionals=invoice_optionals(CBU)
        )
        response = wsfe.authorize(CaeRequest(1, 201, [invoice]))
        assert response.result == "A", response
        note = client_detail(
            1,
            optionals=note_optionals(cancels_rejected=False),
            associated=[AssociatedVoucher(201, 1, 1, ISSUER, TODAY)],
        )
        assert wsfe.authorize(CaeRequest(1, 203, [note])).result == "A"
        refused = client_detail(2, optionals=invoice_optionals(CBU))  # no payment_due
        response = wsfe.authorize(CaeRequest(1, 201, [refused]))
        assert response.result == "R"
        assert [m.code for m in response.details[0].observations] == [10163]


def client_detail(number: int, **changes: object) -> VoucherDetail:
    """A 100 + 21 % VAT voucher to LARGE_COMPANY, as `arca.wsfe` builds it."""
    detail = VoucherDetail(
        concept=1,
        doc_type=80,
        doc_number=int(LARGE_COMPANY),
        number_from=number,
        number_to=number,
        date=TODAY,
        total=Decimal("121.00"),
        untaxed=Decimal(0),
        net=Decimal("100.00"),
        exempt=Decimal(0),
        vat_total=Decimal("21.00"),
        other_taxes_total=Decimal(0),
        receiver_iva_condition=1,
        vat=[VatAmount(5, Decimal("100.00"), Decimal("21.00"))],
    )
    return dataclasses.replace(detail, **changes)  # type: ignore[arg-type]
