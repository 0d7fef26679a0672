"""WSFEv1 parameter tables the sandbox serves (FEParamGet*) and validates against.

Values are ARCA's public code tables (snapshot Nov 2026). `FchHasta` "NULL" means no end date,
as ARCA writes it.
"""

from __future__ import annotations

from decimal import Decimal

# (Id, Desc, FchDesde, Clase)
VOUCHER_TYPES: tuple[tuple[int, str, str, str], ...] = (
    (1, "Factura A", "20100917", "A"),
    (2, "Nota de Débito A", "20100917", "A"),
    (3, "Nota de Crédito A", "20100917", "A"),
    (6, "Factura B", "20100917", "B"),
    (7, "Nota de Débito B", "20100917", "B"),
    (8, "Nota de Crédito B", "20100917", "B"),
    (4, "Recibos A", "20100917", "A"),
    (5, "Notas de Venta al contado A", "20100917", "A"),
    (9, "Recibos B", "20100917", "B"),
    (10, "Notas de Venta al contado B", "20100917", "B"),
    (63, "Liquidacion A", "20100917", "A"),
    (64, "Liquidacion B", "20100917", "B"),
    (34, "Cbtes. A del Anexo I, Apartado A,inc.f),R.G.Nro. 1415", "20100917", "A"),
    (35, "Cbtes. B del Anexo I,Apartado A,inc. f),R.G. Nro. 1415", "20100917", "B"),
    (39, "Otros comprobantes A que cumplan con R.G.Nro. 1415", "20100917", "A"),
    (40, "Otros comprobantes B que cumplan con R.G.Nro. 1415", "20100917", "B"),
    (60, "Cta de Vta y Liquido prod. A", "20100917", "A"),
    (61, "Cta de Vta y Liquido prod. B", "20100917", "B"),
    (11, "Factura C", "20110330", "C"),
    (12, "Nota de Débito C", "20110330", "C"),
    (13, "Nota de Crédito C", "20110330", "C"),
    (15, "Recibo C", "20110330", "C"),
    (49, "Comprobante de Compra de Bienes Usados a Consumidor Final", "20130401", "49"),
    (51, 'Factura A con Leyenda "Operación Sujeta a Retención"', "20150522", "ALEY"),
    (52, 'Nota de Débito A con Leyenda "Operación Sujeta a Retención"', "20150522", "ALEY"),
    (53, 'Nota de Crédito A con Leyenda "Operación Sujeta a Retención"', "20150522", "ALEY"),
    (54, 'Recibo A con Leyenda "Operación Sujeta a Retención"', "20150522", "ALEY"),
    (201, "Factura de Crédito electrónica MiPyMEs (FCE) A", "20181226", "A"),
    (202, "Nota de Débito electrónica MiPyMEs (FCE) A", "20181226", "A"),
    (203, "Nota de Crédito electrónica MiPyMEs (FCE) A", "20181226", "A"),
    (206, "Factura de Crédito electrónica MiPyMEs (FCE) B", "20181226", "B"),
    (207, "Nota de Débito electrónica MiPyMEs (FCE) B", "20181226", "B"),
    (208, "Nota de Crédito electrónica MiPyMEs (FCE) B", "20181226", "B"),
    (211, "Factura de Crédito electrónica MiPyMEs (FCE) C", "20181226", "C"),
    (212, "Nota de Débito electrónica MiPyMEs (FCE) C", "20181226", "C"),
    (213, "Nota de Crédito electrónica MiPyMEs (FCE) C", "20181226", "C"),
)
# (Id, Desc, FchDesde)
DOCUMENT_TYPES: tuple[tuple[int, str, str], ...] = (
    (80, "CUIT", "20080725"),
    (86, "CUIL", "20080725"),
    (87, "CDI", "20080725"),
    (89, "LE", "20080725"),
    (90, "LC", "20080725"),
    (91, "CI Extranjera", "20080725"),
    (92, "en trámite", "20080725"),
    (93, "Acta Nacimiento", "20080725"),
    (95, "CI Bs. As. RNP", "20080725"),
    (96, "DNI", "20080725"),
    (94, "Pasaporte", "20080725"),
    (0, "CI Policía Federal", "20080725"),
    (1, "CI Buenos Aires", "20080725"),
    (2, "CI Catamarca", "20080725"),
    (3, "CI Córdoba", "20080725"),
    (4, "CI Corrientes", "20080728"),
    (5, "CI Entre Ríos", "20080728"),
    (6, "CI Jujuy", "20080728"),
    (7, "CI Mendoza", "20080728"),
    (8, "CI La Rioja", "20080728"),
    (9, "CI Salta", "20080728"),
    (10, "CI San Juan", "20080728"),
    (11, "CI San Luis", "20080728"),
    (12, "CI Santa Fe", "20080728"),
    (13, "CI Santiago del Estero", "20080728"),
    (14, "CI Tucumán", "20080728"),
    (16, "CI Chaco", "20080728"),
    (17, "CI Chubut", "20080728"),
    (18, "CI Formosa", "20080728"),
    (19, "CI Misiones", "20080728"),
    (20, "CI Neuquén", "20080728"),
    (21, "CI La Pampa", "20080728"),
    (22, "CI Río Negro", "20080728"),
    (23, "CI Santa Cruz", "20080728"),
    (24, "CI Tierra del Fuego", "20080728"),
    (99, "Doc. (Otro)", "20080728"),
)
# (Id, Desc, FchDesde, rate)
VAT_RATES: tuple[tuple[int, str, str, Decimal], ...] = (
    (3, "0%", "20090220", Decimal("0.0")),
    (4, "10.5%", "20090220", Decimal("0.105")),
    (5, "21%", "20090220", Decimal("0.21")),
    (6, "27%", "20090220", Decimal("0.27")),
    (8, "5%", "20141020", Decimal("0.05")),
    (9, "2.5%", "20141020", Decimal("0.025")),
)
CONCEPTS: tuple[tuple[int, str, str], ...] = (
    (1, "Producto", "20100917"),
    (2, "Servicios", "20100917"),
    (3, "Productos y Servicios", "20100917"),
)
CURRENCIES: tuple[tuple[str, str, str], ...] = (
    ("PES", "Pesos Argentinos", "20090403"),
    ("DOL", "Dólar Estadounidense", "20090403"),
    ("002", "Dólar Libre EEUU", "20090416"),
    ("010", "Pesos Mejicanos", "20090403"),
    ("011", "Pesos Uruguayos", "20090403"),
    ("014", "Coronas Danesas", "20090403"),
    ("015", "Coronas Noruegas", "20090403"),
    ("016", "Coronas Suecas", "20090403"),
    ("018", "Dólar Canadiense", "20090403"),
    ("019", "Yens", "20090403"),
    ("021", "Libra Esterlina", "20090403"),
    ("023", "Bolívar Venezolano", "20090403"),
    ("024", "Corona Checa", "20090403"),
    ("025", "Dinar Serbio", "20090403"),
    ("026", "Dólar Australiano", "20090403"),
    ("028", "Florín (Antillas Holandesas)", "20090403"),
    ("029", "Güaraní", "20090403"),
    ("031", "Peso Boliviano", "20090403"),
    ("032", "Peso Colombiano", "20090403"),
    ("033", "Peso Chileno", "20090403"),
    ("034", "Rand Sudafricano", "20090403"),
    ("051", "Dólar de Hong Kong", "20090403"),
    ("052", "Dólar de Singapur", "20090403"),
    ("053", "Dólar de Jamaica", "20090403"),
    ("054", "Dólar de Taiwan", "20090403"),
    ("055", "Quetzal Guatemalteco", "20090403"),
    ("056", "Forint (Hungría)", "20090403"),
    ("057", "Baht (Tailandia)", "20090403"),
    ("059", "Dinar Kuwaiti", "20090403"),
    ("012", "Real", "20090403"),
    ("030", "Shekel (Israel)", "20090403"),
    ("035", "Nuevo Sol Peruano", "20090403"),
    ("060", "Euro", "20090403"),
    ("040", "Leu Rumano", "20090415"),
    ("042", "Peso Dominicano", "20090415"),
    ("043", "Balboas Panameñas", "20090415"),
    ("044", "Córdoba Nicaragüense", "20090415"),
    ("045", "Dirham Marroquí", "20090415"),
    ("046", "Libra Egipcia", "20090415"),
    ("047", "Riyal Saudita", "20090415"),
    ("061", "Zloty Polaco", "20090415"),
    ("062", "Rupia Hindú", "20090415"),
    ("063", "Lempira Hondureña", "20090415"),
    ("064", "Yuan (Rep. Pop. China)", "20090415"),
    ("009", "Franco Suizo", "20091110"),
    ("041", "Derechos Especiales de Giro", "20100125"),
    ("049", "Gramos de Oro Fino", "20100125"),
    ("RUB", "Rublo (Rusia)", "20250115"),
    ("NZD", "Dólar Neozelandes", "20250115"),
)
TAX_TYPES: tuple[tuple[int, str, str], ...] = (
    (1, "Impuestos nacionales", "20100917"),
    (2, "Impuestos provinciales", "20100917"),
    (3, "Impuestos municipales", "20100917"),
    (4, "Impuestos Internos", "20100917"),
    (99, "Otro", "20100917"),
    (5, "IIBB", "20170719"),
    (6, "Percepción de IVA", "20170719"),
    (7, "Percepción de IIBB", "20170719"),
    (8, "Percepciones por Impuestos Municipales", "20170719"),
    (9, "Otras Percepciones", "20170719"),
    (13, "Percepción de IVA a no Categorizado", "20170719"),
)
# (Id, Desc, classes it may receive)
RECEIVER_CONDITIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "IVA Responsable Inscripto",
        (
            "A",
            "ALEY",
            "C",
        ),
    ),
    (
        4,
        "IVA Sujeto Exento",
        (
            "B",
            "C",
        ),
    ),
    (
        5,
        "Consumidor Final",
        (
            "B",
            "C",
            "49",
        ),
    ),
    (
        6,
        "Responsable Monotributo",
        (
            "A",
            "ALEY",
            "C",
        ),
    ),
    (
        7,
        "Sujeto No Categorizado",
        (
            "B",
            "C",
        ),
    ),
    (
        8,
        "Proveedor del Exterior",
        (
            "B",
            "C",
        ),
    ),
    (
        9,
        "Cliente del Exterior",
        (
            "B",
            "C",
        ),
    ),
    (
        10,
        "IVA Liberado – Ley N° 19.640",
        (
            "B",
            "C",
        ),
    ),
    (
        13,
        "Monotributista Social",
        (
            "A",
            "ALEY",
            "C",
        ),
    ),
    (
        15,
        "IVA No Alcanzado",
        (
            "B",
            "C",
        ),
    ),
    (
        16,
        "Monotributo Trabajador Independiente Promovido",
        (
            "A",
            "ALEY",
            "C",
        ),
    ),
)
# CbteTipo -> the CbtesAsoc types it may reference (validation 10040).
ALLOWED_ASSOCIATIONS: dict[int, frozenset[int]] = {
    2: frozenset({1, 2, 3, 4, 5, 34, 39, 60, 63, 88, 991}),
    3: frozenset({1, 2, 3, 4, 5, 34, 39, 60, 63, 88, 991}),
    7: frozenset({6, 7, 8, 9, 10, 35, 40, 61, 64, 88, 991}),
    8: frozenset({6, 7, 8, 9, 10, 35, 40, 61, 64, 88, 991}),
    12: frozenset({11, 12, 13, 15}),
    13: frozenset({11, 12, 13, 15}),
    52: frozenset({51, 52, 53, 54, 88, 991}),
    53: frozenset({51, 52, 53, 54, 88, 991}),
    1: frozenset({88, 991}),
    6: frozenset({88, 991}),
    51: frozenset({88, 991}),
    201: frozenset({91, 990, 991, 993, 994, 995}),
    206: frozenset({91, 990, 991, 993, 994, 995}),
    211: frozenset({91, 990, 991, 993, 994, 995}),
    202: frozenset({201, 202, 203}),
    203: frozenset({201, 202, 203}),
    207: frozenset({206, 207, 208}),
    208: frozenset({206, 207, 208}),
    212: frozenset({211, 212, 213}),
    213: frozenset({211, 212, 213}),
}

# ARCA's 24 "datos opcionales" (Id, Desc, FchDesde), as homologation answered them.
OPTIONAL_TYPES: tuple[tuple[str, str, str], ...] = (
    (
        "2",
        "RG Empresas Promovidas - Indentificador de proyecto vinculado a Régimen de Promoción "
        "Industrial",
        "20100917",
    ),
    (
        "91",
        "RG Bienes Usados 3411 - Nombre y Apellido o Denominación del vendedor del bien usado.",
        "20130401",
    ),
    ("92", "RG Bienes Usados 3411 - Nacionalidad del vendedor del bien usado.", "20130401"),
    ("93", "RG Bienes Usados 3411 - Domicilio del vendedor del bien usado.", "20130401"),
    ("5", "Excepcion computo IVA Credito Fiscal", "20141016"),
    ("61", "RG 3668 Impuesto al Valor Agregado - Art.12 IVA Firmante Doc Tipo", "20141016"),
    ("62", "RG 3668 Impuesto al Valor Agregado - Art.12 IVA Firmante Doc Nro", "20141016"),
    ("7", "RG 3668 Impuesto al Valor Agregado - Art.12 IVA Carácter del Firmante", "20141016"),
    (
        "10",
        "RG 3.368 Establecimientos de educación pública de gestión privada - Actividad Comprendida",
        "20150605",
    ),
    (
        "1011",
        "RG 3.368 Establecimientos de educación pública de gestión privada - Tipo de Documento",
        "20150605",
    ),
    (
        "1012",
        "RG 3.368 Establecimientos de educación pública de gestión privada - Número de Documento",
        "20150605",
    ),
    (
        "11",
        "RG 2.820 Operaciones económicas vinculadas con bienes inmuebles - Actividad Comprendida",
        "20150605",
    ),
    (
        "12",
        "RG 3.687 Locación temporaria de inmuebles con fines turísticos - Actividad Comprendida",
        "20150605",
    ),
    ("13", "RG 2.863 Representantes de Modelos", "20160101"),
    ("14", "RG 2.863 Agencias de publicidad", "20160101"),
    ("15", "RG 2.863 Personas físicas que desarrollen actividad de modelaje", "20160101"),
    (
        "17",
        "RG 4004-E Locación de inmuebles destino 'casa-habitación'. Dato 2 (dos) = "
        "facturación directa / Dato 1 (uno) = facturación a través de intermediario",
        "20170309",
    ),
    (
        "1801",
        "RG 4004-E Locación de inmuebles destino 'casa-habitación'. Clave Única de "
        "Identificación Tributaria (CUIT).",
        "20170309",
    ),
    (
        "1802",
        "RG 4004-E Locación de inmuebles destino 'casa-habitación'. Apellido y nombres, "
        "denominación y/o razón social.",
        "20170309",
    ),
    ("2101", "Factura de Crédito Electrónica MiPyMEs (FCE) - CBU del Emisor", "20181226"),
    ("2102", "Factura de Crédito Electrónica MiPyMEs (FCE) - Alias del Emisor", "20181226"),
    ("22", "Factura de Crédito Electrónica MiPyMEs (FCE) - Anulación", "20181226"),
    ("23", "Factura de Crédito Electrónica MiPyMEs (FCE) - Referencia Comercial", "20190308"),
    ("27", "Factura de Credito Electronica MiPyMEs (FCE) - Transferencia", "20201126"),
)

# The sandbox's reference exchange rates (FEParamGetCotizacion): fixed, so tests are repeatable.
# Any currency in CURRENCIES without an entry here quotes DEFAULT_RATE.
REFERENCE_RATES: dict[str, Decimal] = {
    "DOL": Decimal("1050.000000"),
    "002": Decimal("1055.000000"),
    "060": Decimal("1150.000000"),
    "012": Decimal("190.000000"),
    "021": Decimal("1350.000000"),
}
DEFAULT_RATE = Decimal("100.000000")

# Debit and credit notes (must carry CbtesAsoc or PeriodoAsoc, validation 10197).
NOTE_TYPES = frozenset({2, 3, 7, 8, 12, 13, 52, 53, 202, 203, 207, 208, 212, 213})
# Types whose VAT arithmetic ARCA does not check line by line (10051, 10061).
NO_VAT_ARITHMETIC = frozenset({2, 3, 7, 8, 52, 53})
FCE_INVOICES = frozenset({201, 206, 211})
FCE_NOTES = frozenset({202, 203, 207, 208, 212, 213})
# Receiver conditions of a monotributista (observation 10217 on class A).
MONOTRIBUTO_CONDITIONS = frozenset({6, 13, 16})

VOUCHER_CLASS: dict[int, str] = {row[0]: row[3] for row in VOUCHER_TYPES}
VAT_RATE_BY_ID: dict[int, Decimal] = {row[0]: row[3] for row in VAT_RATES}
CURRENCY_IDS = frozenset(row[0] for row in CURRENCIES)
DOCUMENT_TYPE_IDS = frozenset(row[0] for row in DOCUMENT_TYPES)
TAX_TYPE_IDS = frozenset(row[0] for row in TAX_TYPES)
CONCEPT_IDS = frozenset(row[0] for row in CONCEPTS)
RECEIVER_CLASSES: dict[int, tuple[str, ...]] = {row[0]: row[2] for row in RECEIVER_CONDITIONS}
