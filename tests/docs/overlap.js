/*
 * overlap.js - what a reader of a picture would see go wrong, measured in
 * the browser that draws it (check-html.sh inlines it after an SVG): text
 * outside the picture, text over text, and a line or an unfilled path
 * drawn through text. Text along a path (textPath) or turned (transform)
 * is left out: its box is not where its glyphs are. Each <svg> of the page
 * is measured, inside an element whose id names it; the verdict goes into
 * #result: one finding a line, "NAME: what", or nothing.
 */
[].forEach.call(document.querySelectorAll('svg'), function (svg) {
	'use strict';
	var out = [], i, j, who = svg.parentNode.id + ': ';
	function shrunk(r) {
		return { x0: r.left + 1, y0: r.top + 1, x1: r.right - 1, y1: r.bottom - 1 };
	}
	function plain(t) {
		for (var e = t; e && e !== svg; e = e.parentNode)
			if (e.getAttribute && e.getAttribute('transform'))
				return false;
		return !t.querySelector('textPath') && t.textContent.trim() !== '';
	}
	function meet(a, b) {
		return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
	}
	function name(t) { return '"' + t.textContent.trim().slice(0, 60) + '"'; }
	var texts = [].filter.call(svg.querySelectorAll('text'), plain);
	var boxes = texts.map(function (t) { return shrunk(t.getBoundingClientRect()); });
	var pic = svg.getBoundingClientRect();
	for (i = 0; i < texts.length; i++) {
		var b = boxes[i];
		if (b.x0 < pic.left || b.y0 < pic.top || b.x1 > pic.right || b.y1 > pic.bottom)
			out.push('text outside the picture: ' + name(texts[i]));
		for (j = 0; j < i; j++)
			if (meet(b, boxes[j]))
				out.push('text over text: ' + name(texts[j]) + ' and ' + name(texts[i]));
	}
	var strokes = svg.querySelectorAll('line, path, polyline');
	for (i = 0; i < strokes.length; i++) {
		var el = strokes[i], cs = getComputedStyle(el);
		if (el.closest('defs, marker') || cs.stroke === 'none' ||
		    (el.tagName !== 'line' && cs.fill !== 'none'))
			continue;
		var len = el.getTotalLength(), m = el.getScreenCTM(), hit = {};
		for (var s = 0; s <= len; s += 1.5) {
			var p = el.getPointAtLength(s);
			var x = m.a * p.x + m.c * p.y + m.e, y = m.b * p.x + m.d * p.y + m.f;
			for (j = 0; j < texts.length; j++) {
				var c = boxes[j];
				if (!hit[j] && x > c.x0 && x < c.x1 && y > c.y0 && y < c.y1) {
					hit[j] = 1;
					out.push('a ' + el.tagName + ' through text ' + name(texts[j]));
				}
			}
		}
	}
	out.forEach(function (o) {
		document.getElementById('result').textContent += who + o + '\n';
	});
});
