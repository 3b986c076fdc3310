
BlogitsJ(ูร=Nใน=๘~>0Gพ
ื1พฃvฝ9/ช;อIP>๓Zlผs๑Nผ