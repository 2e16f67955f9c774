"""Jenis pekerjaan: the occupations of the population register (SIAK, Dukcapil Kemendagri), as
the e-KTP and the KK print them. A form's occupation is picked from this list with one touch (the
usual ones first); "Lainnya" types another. The value kept is the register's name in capitals
(what the e-KTP holds, so a card's occupation prefills it unchanged)."""

from __future__ import annotations

from kiosk_app.domain.forms import Choice, FieldKind, FieldSpec
from kiosk_app.domain.text import Text

T = Text


def _job(official: str, id_: str, en: str) -> Choice:
    """The register's name (the key, in capitals) and how a button says it."""
    return Choice(official.upper(), T(id_, en))


# The usual answers first (they fill the first page of the picker), then the rest of the
# register's list in its own order.
COMMON: tuple[Choice, ...] = (
    _job("Belum/Tidak Bekerja", "Belum / Tidak Bekerja", "Not working"),
    _job("Mengurus Rumah Tangga", "Mengurus Rumah Tangga", "Homemaker"),
    _job("Pelajar/Mahasiswa", "Pelajar / Mahasiswa", "Pupil / student"),
    _job("Pensiunan", "Pensiunan", "Retired"),
    _job("Pegawai Negeri Sipil", "PNS", "Civil servant (PNS)"),
    _job("Tentara Nasional Indonesia", "TNI", "Armed forces (TNI)"),
    _job("Kepolisian RI", "POLRI", "Police (POLRI)"),
    _job("Karyawan Swasta", "Karyawan Swasta", "Private employee"),
    _job("Wiraswasta", "Wiraswasta", "Self-employed"),
    _job("Petani/Pekebun", "Petani / Pekebun", "Farmer"),
    _job("Nelayan/Perikanan", "Nelayan / Perikanan", "Fisher"),
    _job("Buruh Harian Lepas", "Buruh Harian Lepas", "Day labourer"),
    _job("Pedagang", "Pedagang", "Trader"),
    _job("Guru", "Guru", "Teacher"),
)
OTHERS: tuple[Choice, ...] = (
    _job("Perdagangan", "Perdagangan", "Trade"),
    _job("Peternak", "Peternak", "Livestock farmer"),
    _job("Industri", "Industri", "Industry"),
    _job("Konstruksi", "Konstruksi", "Construction"),
    _job("Transportasi", "Transportasi", "Transport"),
    _job("Karyawan BUMN", "Karyawan BUMN", "State company employee"),
    _job("Karyawan BUMD", "Karyawan BUMD", "Regional company employee"),
    _job("Karyawan Honorer", "Karyawan Honorer", "Contract public employee"),
    _job("Buruh Tani/Perkebunan", "Buruh Tani / Perkebunan", "Farm labourer"),
    _job("Buruh Nelayan/Perikanan", "Buruh Nelayan / Perikanan", "Fishing labourer"),
    _job("Buruh Peternakan", "Buruh Peternakan", "Livestock labourer"),
    _job("Pembantu Rumah Tangga", "Pembantu Rumah Tangga", "Domestic worker"),
    _job("Tukang Cukur", "Tukang Cukur", "Barber"),
    _job("Tukang Listrik", "Tukang Listrik", "Electrician"),
    _job("Tukang Batu", "Tukang Batu", "Mason"),
    _job("Tukang Kayu", "Tukang Kayu", "Carpenter"),
    _job("Tukang Sol Sepatu", "Tukang Sol Sepatu", "Shoe repairer"),
    _job("Tukang Las/Pandai Besi", "Tukang Las / Pandai Besi", "Welder / blacksmith"),
    _job("Tukang Jahit", "Tukang Jahit", "Tailor"),
    _job("Tukang Gigi", "Tukang Gigi", "Dental technician"),
    _job("Penata Rias", "Penata Rias", "Make-up artist"),
    _job("Penata Busana", "Penata Busana", "Fashion stylist"),
    _job("Penata Rambut", "Penata Rambut", "Hairdresser"),
    _job("Mekanik", "Mekanik", "Mechanic"),
    _job("Seniman", "Seniman", "Artist"),
    _job("Tabib", "Tabib", "Traditional healer"),
    _job("Paraji", "Paraji", "Traditional midwife"),
    _job("Perancang Busana", "Perancang Busana", "Fashion designer"),
    _job("Penterjemah", "Penterjemah", "Translator"),
    _job("Imam Masjid", "Imam Masjid", "Imam"),
    _job("Pendeta", "Pendeta", "Minister (Protestant)"),
    _job("Pastor", "Pastor", "Priest (Catholic)"),
    _job("Wartawan", "Wartawan", "Journalist"),
    _job("Ustadz/Mubaligh", "Ustadz / Mubaligh", "Religious teacher"),
    _job("Juru Masak", "Juru Masak", "Cook"),
    _job("Promotor Acara", "Promotor Acara", "Event promoter"),
    _job("Anggota DPR-RI", "Anggota DPR-RI", "Member of the DPR"),
    _job("Anggota DPD", "Anggota DPD", "Member of the DPD"),
    _job("Anggota BPK", "Anggota BPK", "Member of the BPK"),
    _job("Presiden", "Presiden", "President"),
    _job("Wakil Presiden", "Wakil Presiden", "Vice President"),
    _job("Anggota Mahkamah Konstitusi", "Anggota Mahkamah Konstitusi", "Constitutional judge"),
    _job("Anggota Kabinet/Kementerian", "Anggota Kabinet / Kementerian", "Cabinet member"),
    _job("Duta Besar", "Duta Besar", "Ambassador"),
    _job("Gubernur", "Gubernur", "Governor"),
    _job("Wakil Gubernur", "Wakil Gubernur", "Vice governor"),
    _job("Bupati", "Bupati", "Regent"),
    _job("Wakil Bupati", "Wakil Bupati", "Vice regent"),
    _job("Walikota", "Walikota", "Mayor"),
    _job("Wakil Walikota", "Wakil Walikota", "Vice mayor"),
    _job("Anggota DPRD Provinsi", "Anggota DPRD Provinsi", "Provincial council member"),
    _job(
        "Anggota DPRD Kabupaten/Kota",
        "Anggota DPRD Kabupaten / Kota",
        "Regency / city council member",
    ),
    _job("Dosen", "Dosen", "Lecturer"),
    _job("Pilot", "Pilot", "Pilot"),
    _job("Pengacara", "Pengacara", "Lawyer"),
    _job("Notaris", "Notaris", "Notary"),
    _job("Arsitek", "Arsitek", "Architect"),
    _job("Akuntan", "Akuntan", "Accountant"),
    _job("Konsultan", "Konsultan", "Consultant"),
    _job("Dokter", "Dokter", "Doctor"),
    _job("Bidan", "Bidan", "Midwife"),
    _job("Perawat", "Perawat", "Nurse"),
    _job("Apoteker", "Apoteker", "Pharmacist"),
    _job("Psikiater/Psikolog", "Psikiater / Psikolog", "Psychiatrist / psychologist"),
    _job("Penyiar Televisi", "Penyiar Televisi", "TV presenter"),
    _job("Penyiar Radio", "Penyiar Radio", "Radio presenter"),
    _job("Pelaut", "Pelaut", "Seafarer"),
    _job("Peneliti", "Peneliti", "Researcher"),
    _job("Sopir", "Sopir", "Driver"),
    _job("Pialang", "Pialang", "Broker"),
    _job("Paranormal", "Paranormal", "Paranormal"),
    _job("Perangkat Desa", "Perangkat Desa", "Village official"),
    _job("Kepala Desa", "Kepala Desa", "Village head"),
    _job("Biarawati", "Biarawati", "Nun"),
)
OCCUPATIONS: tuple[Choice, ...] = COMMON + OTHERS
OTHER = T("Lainnya (ketik)", "Other (type it)")


def occupation_field(name: str, id_: str, en: str, *, required: bool = True) -> FieldSpec:
    """An occupation: picked from the register's list, or typed after "Lainnya"."""
    return FieldSpec(
        name,
        T(id_, en),
        FieldKind.LIST,
        required,
        OCCUPATIONS,
        60,
        T("Pilih dari daftar, atau Lainnya", "Pick from the list, or Other"),
    )
