package amp

import "github.com/beevik/etree"

// AppendXML is a temporary etree-based version for the baseline.
func AppendXML(dst []byte, el *etree.Element) []byte {
	if el == nil {
		return dst
	}
	w := &appendWriter{b: dst}
	el.WriteTo(w, &etree.WriteSettings{})
	return w.b
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *appendWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}
func (w *appendWriter) WriteByte(c byte) error { w.b = append(w.b, c); return nil }
