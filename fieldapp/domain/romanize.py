"""The usual Latin spelling of common Khmer names: the form suggests it for the Latin name fields.

A suggestion only, for names written one common way on ID cards (``សុខ`` -> ``Sok``, ``ដារា`` or ``ដារ៉ា`` ->
``Dara``); the worker sees it selected in the field and types over it when the person's papers say otherwise.
Names are compared by ``khmer.match_key`` (zero-width spaces, spaces and known variant spellings ignored). A name
not in these lists gets no suggestion: nothing is transliterated letter by letter.
"""

from __future__ import annotations

from functools import lru_cache

from fieldapp.domain.khmer import match_key

FAMILY_NAMES = (
    ("សុខ", "Sok"), ("ចាន់", "Chan"), ("ហេង", "Heng"), ("លី", "Ly"), ("គឹម", "Kim"), ("ស៊ុន", "Sun"), ("ម៉ៅ", "Mao"),
    ("ពៅ", "Pov"), ("ឈិម", "Chhim"), ("នួន", "Nuon"), ("អ៊ុំ", "Um"), ("យិន", "Yin"), ("ទេព", "Tep"),
    ("សៀង", "Sieng"), ("ព្រំ", "Prum"), ("ខៀវ", "Khiev"), ("អ៊ូច", "Ouch"), ("ជា", "Chea"), ("សេង", "Seng"),
    ("ណុប", "Nop"), ("វង្ស", "Vong"), ("ឡុង", "Long"), ("ម៉ម", "Mom"), ("ហ៊ុន", "Hun"), ("កែវ", "Keo"),
    ("ស៊ិន", "Sin"), ("លឹម", "Lim"), ("តាំង", "Taing"), ("ប៉ុល", "Pol"), ("សាន", "San"), ("ទូច", "Touch"),
    ("ម៉ែន", "Men"), ("សោម", "Som"), ("ពេជ្រ", "Pich"), ("ផល", "Phal"), ("អ៊ុក", "Ouk"), ("អ៊ុន", "Un"),
    ("ឡាយ", "Lay"), ("ចេង", "Cheng"), ("ហុក", "Hok"), ("យឹម", "Yim"), ("ហួត", "Huot"), ("ឌី", "Dy"), ("អៀម", "Iem"),
    ("សួន", "Suon"), ("ធី", "Thy"), ("ប៊ុន", "Bun"), ("ឈួន", "Chhuon"), ("ស្រេង", "Sreng"), ("ឈាង", "Chheang"),
    ("ងួន", "Nguon"), ("ទៀង", "Tieng"), ("ផាន់", "Phan"), ("ឯក", "Ek"), ("អ៊ិន", "In"), ("គង់", "Kong"),
    ("ឃឹម", "Khim"), ("ឆាយ", "Chhay"), ("ស៊ីម", "Sim"), ("ឡេង", "Leng"), ("មាស", "Meas"), ("រស់", "Ros"),
    ("ស្វាយ", "Svay"), ("ពិន", "Pin"), ("ញឹម", "Nhim"), ("ម៉ុក", "Mok"), ("អ៊ឹម", "Im"), ("ប៉ែន", "Pen"),
    ("ហែម", "Hem"), ("ខាត់", "Khat"), ("នៅ", "Nov"), ("ទិត្យ", "Tith"), ("ឆែម", "Chhem"), ("កាន់", "Kan"),
    ("ថោង", "Thong"), ("លាង", "Leang"), ("ចាប", "Chap"), ("ឈឿន", "Chhoeun"), ("ប្រាក់", "Prak"),
)
GIVEN_NAMES = (
    ("ស្រីមុំ", "Sreymom"), ("សុភា", "Sophea"), ("ចាន់ថា", "Chantha"), ("ធីតា", "Thida"), ("សុខា", "Sokha"),
    ("បុប្ផា", "Bopha"), ("ស្រីពៅ", "Sreypov"), ("រតនា", "Rattana"), ("ម៉ាលី", "Maly"), ("សុភាព", "Sopheap"),
    ("ចន្ទ្រា", "Chantrea"), ("វណ្ណា", "Vanna"), ("លីដា", "Lida"), ("ដាវី", "Davy"), ("ស្រីនាង", "Sreyneang"),
    ("ស្រីល័ក្ខ", "Sreyleak"), ("ពិសី", "Pisey"), ("សុជាតា", "Socheata"), ("ចិន្តា", "Chenda"), ("ម៉ានី", "Many"),
    ("ណារី", "Nary"), ("កញ្ញា", "Kanha"), ("សុធា", "Sothea"), ("ស៊ីណា", "Sina"), ("ស្រីនិច", "Sreynich"),
    ("ស្រីនី", "Sreyny"), ("ធារី", "Theary"), ("សុគន្ធា", "Sokunthea"), ("រ៉ានី", "Rany"), ("ពុទ្ធី", "Puthy"),
    ("ចាន់ណា", "Channa"), ("វាសនា", "Veasna"), ("លក្ខិណា", "Leakhena"), ("ផល្លា", "Phalla"), ("ចរិយា", "Chariya"),
    ("ចាន់ណារី", "Channary"), ("សុខនី", "Sokny"), ("ស៊ីថា", "Sitha"),
    ("ដារា", "Dara"), ("ដារ៉ា", "Dara"), ("វិចិត្រ", "Vichet"), ("សុផល", "Sophal"), ("រិទ្ធ", "Rith"),
    ("ពិសិដ្ឋ", "Piseth"), ("សម្បត្តិ", "Sambath"), ("វណ្ណៈ", "Vannak"), ("បូរ៉ា", "Bora"), ("បូរា", "Bora"),
    ("សុវណ្ណ", "Sovann"), ("ចក្រា", "Chakra"), ("ភារម្យ", "Phearom"), ("រដ្ឋា", "Rotha"), ("សុខុម", "Sokhom"),
    ("វុទ្ធី", "Vuthy"), ("មករា", "Makara"), ("សំណាង", "Samnang"), ("កុសល", "Kosal"), ("វិសាល", "Visal"),
    ("ធារ៉ា", "Theara"), ("ធារា", "Theara"), ("សុខលី", "Sokly"), ("ភក្តី", "Pheakdey"), ("ម៉េងលី", "Mengly"),
    ("ចំរើន", "Chamroeun"), ("ប៊ុនណា", "Bunna"), ("សុខហេង", "Sokheng"), ("វិបុល", "Vibol"), ("វីរៈ", "Virak"),
    ("សុធី", "Sothy"), ("ពិសាល", "Pisal"), ("ឧត្តម", "Oudom"), ("បញ្ញា", "Panha"), ("ភិរុណ", "Phirun"),
    ("រស្មី", "Reaksmey"), ("សុជាតិ", "Socheat"), ("វឌ្ឍនា", "Vathana"), ("ចាន់ដារ៉ា", "Chandara"),
    ("សុខចាន់", "Sokchan"), ("វណ្ណារ៉ា", "Vannara"),
)
KINDS = {"family_name": FAMILY_NAMES, "given_name": GIVEN_NAMES}


@lru_cache(maxsize=None)
def _index(kind: str) -> dict[str, str]:
    return {match_key(khmer): latin for khmer, latin in KINDS[kind]}


def suggest_latin(khmer_name, kind: str) -> str | None:
    """The usual Latin spelling of ``khmer_name`` (``kind``: ``"family_name"`` or ``"given_name"``), or None."""
    if not isinstance(khmer_name, str) or kind not in KINDS or not khmer_name.strip():
        return None
    return _index(kind).get(match_key(khmer_name))
