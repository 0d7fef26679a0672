"""ARCA's error and observation texts, in its style (Spanish, no accents), keyed by code.

Clients must match on the code, never on the text; these read like ARCA's so that logs and
screens look the same in the sandbox and in homologation.
"""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    500: "Error interno de aplicacion.",
    501: "Error interno de base de datos.",
    502: "Error interno: el autorizador de CAE posee una transaccion activa.",
    600: "ValidacionDeToken: token o firma invalidos.",
    601: "CUIT representada no incluida en Token.",
    # As recorded (pyafipws tests/cassettes/test_wsfev1/test_main_prueba_consultar.yaml).
    602: "No existen datos en nuestros registros para los parametros ingresados.",
    10001: "El campo CantReg debe estar comprendido entre 1 y 9998.",
    10002: "La cantidad de registros informada en CantReg no coincide con el detalle enviado.",
    10003: "La cantidad de registros supera el maximo permitido por FECompTotXRequest.",
    10004: "El campo PtoVta debe estar comprendido entre 1 y 99998.",
    10005: "El punto de venta no se encuentra habilitado a usar el presente WS. "
    "Consultar metodo FEParamGetPtosVenta.",
    10007: "El campo CbteTipo no es valido. Consultar metodo FEParamGetTiposCbte.",
    10011: "Para comprobantes clase A los campos CbteDesde y CbteHasta deben ser iguales.",
    10012: "Para comprobantes que no son clase B los campos CbteDesde y CbteHasta deben ser "
    "iguales.",
    10013: "Para comprobantes clase A el campo DocTipo debe ser 80 (CUIT).",
    10014: "Para comprobantes clase B informados en lote (CbteDesde distinto de CbteHasta) "
    "DocTipo debe ser 99 y DocNro 0.",
    10015: "El documento del receptor no es valido para el comprobante informado.",
    10016: "El numero o fecha del comprobante no se corresponde con el proximo a autorizar. "
    "Consultar metodo FECompUltimoAutorizado.",
    10018: "Si ImpIVA es mayor a 0 debe informarse el detalle de alicuotas (Iva); si es 0 solo "
    "puede informarse la alicuota Id 3 (0%).",
    10019: "El Id de alicuota de IVA no es valido. Consultar metodo FEParamGetTiposIva.",
    10020: "El campo BaseImp de cada alicuota de IVA debe ser mayor a 0.",
    10022: "No puede repetirse el Id de alicuota en el detalle de IVA.",
    10023: "El campo ImpIVA debe ser igual a la suma de los importes del detalle de IVA.",
    10024: "El detalle de Tributos debe informarse si y solo si ImpTrib es mayor a 0.",
    10025: "El Id de tributo no es valido. Consultar metodo FEParamGetTiposTributos.",
    10029: "El campo ImpTrib debe ser igual a la suma de los importes de Tributos.",
    10031: "El campo FchServDesde no es una fecha valida (yyyymmdd).",
    10032: "El campo FchServHasta no puede ser anterior a FchServDesde.",
    10033: "El campo FchServHasta no es una fecha valida (yyyymmdd).",
    10035: "El campo FchVtoPago no es una fecha valida (yyyymmdd).",
    10036: "El campo FchVtoPago no puede ser anterior a la fecha del comprobante.",
    10037: "El campo MonId no es valido. Consultar metodo FEParamGetTiposMonedas.",
    10038: "El campo MonCotiz es obligatorio y debe ser mayor a 0 para moneda extranjera.",
    10039: "Si MonId es PES el campo MonCotiz debe ser 1.",
    10040: "El tipo de comprobante asociado no es valido para el comprobante informado.",
    10041: "El comprobante asociado no se encuentra registrado como comprobante electronico.",
    10043: "El campo ImpTotConc debe ser mayor o igual a 0 (0 para comprobantes clase C).",
    10044: "El campo ImpOpEx debe ser mayor o igual a 0 (0 para comprobantes clase C).",
    10045: "El campo ImpNeto debe ser mayor o igual a 0.",
    10046: "El campo ImpTotal debe ser mayor o igual a 0.",
    10047: "El campo ImpIVA debe ser mayor o igual a 0 (0 para comprobantes clase C).",
    10048: "El campo ImpTotal debe ser igual a la suma de ImpTotConc + ImpNeto + ImpOpEx + "
    "ImpTrib + ImpIVA.",
    10049: "Para Concepto 2 o 3 son obligatorios FchServDesde, FchServHasta y FchVtoPago.",
    10051: "El importe de cada alicuota de IVA debe corresponder a BaseImp por la alicuota.",
    10056: "Los importes admiten hasta 2 decimales (MonCotiz hasta 6).",
    10061: "El campo ImpNeto debe ser igual a la suma de las bases imponibles del detalle de IVA.",
    10065: "El campo ImpTrib debe ser mayor o igual a 0.",
    10069: "El documento del receptor no puede ser igual a la CUIT del emisor.",
    10070: "Si ImpNeto es mayor a 0 debe informarse el detalle de alicuotas (Iva).",
    10071: "Para comprobantes clase C no debe informarse el detalle de IVA.",
    10119: "El campo MonCotiz se aparta del rango permitido respecto de la cotizacion oficial.",
    10152: "Para Concepto 1 la fecha del comprobante no puede ser posterior al mes de envio.",
    10197: "Para notas de debito y credito debe informarse CbtesAsoc o PeriodoAsoc.",
    10198: "PeriodoAsoc solo puede informarse en notas de debito y credito.",
    10217: "El credito fiscal discriminado en el presente comprobante solo podra ser computado a "
    "efectos del Regimen de Sostenimiento e Inclusion Fiscal para Pequenos Contribuyentes "
    "de la Ley 27.618.",
    10237: "El importe de la nota de credito supera el del comprobante asociado.",
    10239: "El campo CanMisMonExt admite los valores S o N.",
    10241: "Si MonId es PES el campo CanMisMonExt no debe informarse o debe ser N.",
    10242: "El campo CondicionIVAReceptorId no es valido. "
    "Consultar metodo FEParamGetCondicionIvaReceptor.",
    10243: "El campo CondicionIVAReceptorId no es valido para la clase de comprobante informado.",
    10244: "El campo ClaseCmp no es valido: valores admitidos A, ALEY, B, C o 49.",
    10245: "El campo CondicionIVAReceptorId sera obligatorio. Informarlo segun RG 5616.",
    10246: "El campo CondicionIVAReceptorId es obligatorio (RG 5616).",
    # FCE MiPyME (types 201-213): the manual's wording, shortened (not recorded).
    10042: "El campo Desc en Tributo es obligatorio para Id 99 y para comprobantes MiPyMEs (FCE).",
    10151: "Si informa Cuit en comprobantes asociados debe ser un valor de 11 caracteres "
    "numericos; para notas de debito o credito MiPyMEs (FCE) es obligatorio.",
    10153: "Para notas de debito o credito MiPyMEs (FCE) es obligatorio informar comprobantes "
    "asociados.",
    10155: "Para comprobantes MiPyMEs (FCE) la CUIT del emisor del comprobante asociado debe "
    "coincidir con la del emisor del comprobante a autorizar.",
    10156: "Para notas de debito o credito MiPyMEs (FCE) sin codigo de anulacion debe asociarse "
    "1 comprobante tipo factura.",
    10157: "Para notas de debito o credito MiPyMEs (FCE) sin codigo de anulacion solo puede "
    "asociarse la factura MiPyMEs de su clase (201, 206 o 211) o remitos.",
    10158: "Para notas de debito o credito MiPyMEs (FCE) es obligatorio informar la fecha del "
    "comprobante asociado.",
    10159: "Para notas de debito o credito MiPyMEs (FCE) la fecha del comprobante asociado debe "
    "ser igual o menor a la del comprobante a autorizar.",
    10160: "Para notas de debito o credito MiPyMEs (FCE) el comprobante asociado debe existir "
    "autorizado con la misma fecha informada.",
    10162: "Para comprobantes MiPyMEs (FCE) es obligatorio informar Opcionales.",
    10163: "Para facturas MiPyMEs (FCE) 201, 206 y 211 es obligatorio informar FchVtoPago.",
    10164: "Para comprobantes MiPyMEs (FCE) FchVtoPago debe ser posterior o igual a la fecha de "
    "emision o a la fecha de presentacion, la que sea posterior.",
    10165: "Para comprobantes MiPyMEs (FCE) el valor del opcional 2101 debe ser un CBU numerico "
    "de 22 caracteres.",
    10166: "Para comprobantes MiPyMEs (FCE) el valor del opcional 2102 debe ser un ALIAS "
    "alfanumerico de 6 a 20 caracteres.",
    10167: "Para comprobantes MiPyMEs (FCE) el valor del opcional 22 debe ser S (es de anulacion) "
    "o N (no es de anulacion).",
    10168: "Para facturas MiPyMEs (FCE) 201, 206 y 211 es obligatorio informar CBU (opcional "
    "2101).",
    10170: "Para comprobantes MiPyMEs (FCE) es obligatorio informar al menos uno de los "
    "opcionales 2101, 22, 27.",
    10171: "Para facturas MiPyMEs (FCE) 201, 206 y 211 no informar codigo de anulacion "
    "(opcional 22).",
    10172: "Para notas de debito o credito MiPyMEs (FCE) no informar CBU, ALIAS ni "
    "Transferencia (opcionales 2101, 2102, 27).",
    10173: "Para notas de debito o credito MiPyMEs (FCE) informar codigo de anulacion "
    "(opcional 22).",
    10175: "Para comprobantes MiPyMEs (FCE) FchVtoPago solo se informa en facturas, o en notas "
    "de debito o credito de anulacion.",
    10178: "Para comprobantes MiPyMEs (FCE) no se permite informar DocNro 23000000000 (No "
    "Categorizado).",
    10180: "Para comprobantes MiPyMEs (FCE) el receptor debe ser un contribuyente caracterizado "
    "como GRANDE o que opto por PYME.",
    10181: "Para notas de debito o credito MiPyMEs (FCE) la moneda debe ser la del comprobante "
    "asociado o Pesos.",
    10189: "El opcional 23 (Referencia Comercial) admite hasta 50 caracteres alfanumericos.",
    10190: "Si informa mas de un opcional 23 (Referencia Comercial) no repetir el valor.",
    10194: "Para comprobantes MiPyMEs (FCE) no se encuentra habilitado informar compradores.",
    10196: "Para comprobantes MiPyMEs (FCE) no se encuentra habilitado informar PeriodoAsoc.",
    10214: "Para comprobantes MiPyMEs (FCE) el valor del opcional 27 es un alfanumerico de 3 "
    "caracteres.",
    10215: "Para comprobantes MiPyMEs (FCE) los valores posibles del opcional 27 son SCA "
    "(Transferencia al Sistema de Circulacion Abierta) o ADC (Agente de Deposito Colectivo).",
    10216: "Para facturas MiPyMEs (FCE) 201, 206 y 211 es obligatorio informar el opcional 27 "
    "con valor SCA o ADC.",
    11000: "El campo PtoVta debe estar comprendido entre 1 y 99998.",
    11001: "El campo CbteTipo no es valido. Consultar metodo FEParamGetTiposCbte.",
    11002: "El punto de venta no se encuentra habilitado a usar el presente WS.",
    12000: "El campo MonId no es valido. Consultar metodo FEParamGetTiposMonedas.",
    12001: "El campo MonId es obligatorio.",
    12002: "El campo FchCotiz no es una fecha valida (yyyymmdd).",
}

# Codes ARCA reports in Errors/Err (request level), not as an observation on the voucher.
REQUEST_LEVEL = frozenset({10001, 10002, 10003, 10004, 10005, 10007, 10016})


def message(code: int, extra: str = "") -> str:
    """ARCA's text for `code`, with `extra` appended when given."""
    base = MESSAGES.get(code, "Rechazo simulado por el sandbox.")
    return f"{base} {extra}".strip()
