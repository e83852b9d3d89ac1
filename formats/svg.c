/*
 * svg.c — an interactive flame graph as one self-contained SVG file (inline CSS and script, no
 * network): `mrprof convert IN OUT.svg` and `mrprof diff BASE NEW -o OUT.svg`.
 *
 * The picture is flamegraph.pl's: the root at the bottom, each frame as wide as its inclusive
 * time, callees stacked above their caller, siblings in name order. Every thread is in the one
 * graph: when more than one thread has samples, each is a frame "thread NAME" above the root
 * "all", so a thread's share reads like a function's. A frame narrower than MIN_PX of the full
 * width is dropped (its time stays in its caller's width, as flamegraph.pl's --minwidth does),
 * which keeps a 1 M-sample profile a file a browser opens at once; stacks deeper than MAX_DEPTH
 * are cut there (the title says so).
 *
 * Each frame is `<g><title>NAME\nFILE:LINE\nTIME, SHARE</title><rect/><text>LABEL</text></g>`:
 * the <title> is the tooltip any viewer shows; the script (run by browsers, ignored by image
 * renderers such as rsvg-convert) adds the details line on hover, zoom on click (Reset Zoom, or
 * Escape), and Search (Ctrl-F, or ?s=REGEX in the URL) which highlights matches and shows the
 * matched share, nested matches counted once.
 *
 * The differential graph (svg_write_diff) takes its widths from p (NEW) and colours each frame
 * by the change of its inclusive time against the base's (scaled): red grew, blue shrank, the
 * intensity by the change's size against the largest change drawn; its label carries the
 * relative change ("+12.3%", "new") so it reads without colour.
 *
 * Names are escaped for XML; bytes that are not UTF-8, and characters XML 1.0 forbids, become
 * U+FFFD. Nothing here knows mruby: the profile model only.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

#define SVG_WIDTH 1200
#define XPAD 10
#define FRAME_H 16
#define TOP 40
#define BOTTOM 30
#define MAX_DEPTH 1024
#define MIN_PX 0.1
#define CHAR_PX 7.08 /* an average glyph of 12 px Verdana: labels are cut to fit */

struct frame {
    double x, w;     /* in weight units, from the left edge of the graph */
    double base;     /* differential: the base's inclusive weight (scaled) */
    uint32_t node;   /* the profile's node (kind NODE) */
    uint32_t depth;  /* 0: the root "all" */
    uint32_t thread; /* kind THREAD */
    uint8_t kind;
};
enum { F_ALL, F_THREAD, F_NODE };

struct frames {
    struct frame *v;
    size_t n, cap;
};

static int
push(struct frames *fs, struct frame f)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? 2 * fs->cap : 1024;
        struct frame *v = realloc(fs->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        fs->v = v, fs->cap = cap;
    }
    fs->v[fs->n++] = f;
    return 0;
}

/* --- XML text --------------------------------------------------------------------------------- */

/* One UTF-8 sequence at s: its length, and in *cp the code point (U+FFFD for a byte that does not
 * start a valid sequence: overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t
u8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0)
        n = 2, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) { /* also stops at the NUL */
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[k] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return n;
}

/* The number of characters (code points) of s as xml_put writes it. */
static size_t
u8_len(const char *s)
{
    size_t n = 0;
    uint32_t cp;
    for (const unsigned char *c = (const unsigned char *)s; *c; c += u8_next(c, &cp))
        n++;
    return n;
}

/* Writes at most max characters of s escaped for XML text and attribute values. */
static void
xml_put(FILE *out, const char *s, size_t max)
{
    uint32_t cp;
    const unsigned char *c = (const unsigned char *)s;
    for (size_t k = 0; *c && k < max; k++) {
        size_t n = u8_next(c, &cp);
        switch (cp) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            /* XML 1.0 forbids the C0 controls but tab, LF and CR, and U+FFFE, U+FFFF; a name's
             * line break would also split the tooltip's lines. */
            if (cp < 0x20 || cp == 0x7F || cp == 0xFFFD || cp == 0xFFFE || cp == 0xFFFF)
                fputs("\xEF\xBF\xBD", out);
            else
                fwrite(c, 1, n, out);
        }
        c += n;
    }
}

/* --- numbers -------------------------------------------------------------------------------- */

/* A weight as the tooltip shows it: ns as ms or s, or bytes. */
static void
fmt_weight(char *buf, size_t len, double v, bool bytes)
{
    if (bytes) {
        if (v >= 1048576.0)
            snprintf(buf, len, "%.1f MB", v / 1048576.0);
        else if (v >= 1024.0)
            snprintf(buf, len, "%.1f kB", v / 1024.0);
        else
            snprintf(buf, len, "%.0f B", v);
    } else if (v >= 1e10) {
        snprintf(buf, len, "%.2f s", v / 1e9);
    } else if (v >= 1e6) {
        snprintf(buf, len, "%.1f ms", v / 1e6);
    } else {
        snprintf(buf, len, "%.3f ms", v / 1e6);
    }
}

/* The relative change of a frame's inclusive time: "+12.3%", "new", or "gone" (never drawn:
 * widths are NEW's). */
static void
fmt_change(char *buf, size_t len, double cur, double base)
{
    if (base <= 0)
        snprintf(buf, len, cur > 0 ? "new" : "0.0%%");
    else
        snprintf(buf, len, "%+.1f%%", 100.0 * (cur / base - 1.0));
}

/* --- colours -------------------------------------------------------------------------------- */

static uint32_t
name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a: the same name, the same colour in every graph */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* flamegraph.pl's palettes: Ruby methods and blocks warm (red to yellow), C methods aqua,
 * pseudo-frames ((idle), (garbage collector), ...) grey, "all" and the threads grey-blue. */
static void
fmt_colour(char *buf, size_t len, int kind, int frame_kind, const char *name)
{
    uint32_t h = name_hash(name);
    double a = (h & 0xFF) / 255.0, b = ((h >> 8) & 0xFF) / 255.0;
    int r, g, bl;
    if (kind != F_NODE)
        r = 170, g = 180, bl = 205;
    else if (frame_kind == FRAME_PSEUDO)
        r = g = bl = 190 + (int)(30 * a);
    else if (frame_kind == FRAME_CFUNC)
        r = 50 + (int)(60 * a), g = 165 + (int)(55 * a), bl = 165 + (int)(55 * b);
    else
        r = 205 + (int)(50 * b), g = (int)(230 * a), bl = (int)(55 * b);
    snprintf(buf, len, "#%02x%02x%02x", r, g, bl);
}

/* Differential: white for no change, to red (grew) or blue (shrank) by k = |change| / largest. */
static void
diff_colour(char *buf, size_t len, double delta, double k)
{
    int c = 245 - (int)lround(205 * (k < 0 ? 0 : k > 1 ? 1 : k));
    if (delta > 0)
        snprintf(buf, len, "#ff%02x%02x", c, c);
    else if (delta < 0)
        snprintf(buf, len, "#%02x%02xff", c, c);
    else
        snprintf(buf, len, "#f5f5f5");
}

/* --- layout --------------------------------------------------------------------------------- */

static const struct profile *sort_p; /* qsort has no context argument */

static int
by_name(const void *x, const void *y)
{
    const struct prof_frame *fr = profile_frames(sort_p);
    const struct prof_node *n = profile_nodes(sort_p);
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    int c =
        strcmp(profile_str(sort_p, fr[n[a].frame].name), profile_str(sort_p, fr[n[b].frame].name));
    return c ? c : (a > b) - (a < b);
}

/* Lays out the trie below node 0 by the inclusive weights tot[] (frames under minw dropped) from
 * x at depth, appending frames. *cut is set when a stack was cut at MAX_DEPTH. */
static int
lay_out(const struct profile *p, const double *tot, const double *base, double minw, double x,
        uint32_t depth, struct frames *fs, bool *cut, uint32_t *start, uint32_t *list,
        uint32_t *stack, double *sx, uint32_t *sd)
{
    size_t nn = profile_nnodes(p);
    const struct prof_node *n = profile_nodes(p);
    /* The kept nodes' children in CSR form, each node's in name order. */
    memset(start, 0, (nn + 1) * sizeof *start);
    for (size_t i = 1; i < nn; i++)
        if (tot[i] > 0 && tot[i] >= minw)
            start[n[i].parent + 1]++;
    for (size_t i = 0; i < nn; i++)
        start[i + 1] += start[i];
    for (size_t i = 1; i < nn; i++)
        if (tot[i] > 0 && tot[i] >= minw)
            list[start[n[i].parent]++] = (uint32_t)i;
    for (size_t i = nn; i > 0; i--) /* start[k] now ends k's list: shift back */
        start[i] = start[i - 1];
    start[0] = 0;
    sort_p = p;
    for (size_t i = 0; i < nn; i++)
        if (start[i + 1] - start[i] > 1)
            qsort(list + start[i], start[i + 1] - start[i], sizeof *list, by_name);
    /* Depth first, children pushed right to left so they come out left to right. */
    size_t sp = 0;
    double cx = x;
    for (uint32_t k = start[0]; k < start[1]; k++)
        cx += tot[list[k]];
    for (uint32_t k = start[1]; k-- > start[0];) {
        cx -= tot[list[k]];
        stack[sp] = list[k], sx[sp] = cx, sd[sp++] = depth;
    }
    while (sp > 0) {
        sp--;
        uint32_t i = stack[sp], d = sd[sp];
        double fx = sx[sp];
        struct frame f = {.x = fx,
                          .w = tot[i],
                          .base = base ? base[i] : 0,
                          .node = i,
                          .depth = d,
                          .kind = F_NODE};
        if (push(fs, f) != 0)
            return -ENOMEM;
        if (d + 1 > MAX_DEPTH) {
            if (start[i + 1] > start[i])
                *cut = true;
            continue;
        }
        double c = fx;
        for (uint32_t k = start[i]; k < start[i + 1]; k++)
            c += tot[list[k]];
        for (uint32_t k = start[i + 1]; k-- > start[i];) {
            c -= tot[list[k]];
            stack[sp] = list[k], sx[sp] = c, sd[sp++] = d + 1;
        }
    }
    return 0;
}

/* --- the document ----------------------------------------------------------------------------- */

static const char css[] =
    "text{font-family:Verdana,'DejaVu Sans',sans-serif;font-size:12px;fill:#000}\n"
    "#title{font-size:17px;text-anchor:middle}\n"
    "#subtitle{fill:#555;text-anchor:middle}\n"
    "#matched{text-anchor:end}\n"
    "#search{text-anchor:end}\n"
    ".btn{cursor:pointer;fill:#0645ad}\n"
    ".hide{display:none}\n"
    "#frames rect{stroke:#fff;stroke-width:0.5}\n"
    "#frames g{cursor:pointer}\n"
    "#frames g:hover rect{stroke:#000;stroke-width:1}\n"
    "#frames text{pointer-events:none}\n"
    "#frames g.parent{opacity:0.5}\n";

/* The viewer's behaviour; it reads everything from the document (no data of its own). */
static const char script[] =
    "\"use strict\";\n"
    "var S,FR=[],det,mat,unz,sbtn,XP,FW,TOTAL,UNIT,zoomed=null,term=null,EPS=0.005;\n"
    "function init(){\n"
    " S=document.documentElement;XP=+S.getAttribute('data-xpad');\n"
    " FW=+S.getAttribute('width')-2*XP;TOTAL=+S.getAttribute('data-total');\n"
    " UNIT=S.getAttribute('data-unit');det=document.getElementById('details');\n"
    " mat=document.getElementById('matched');unz=document.getElementById('unzoom');\n"
    " sbtn=document.getElementById('search');\n"
    " var root=document.getElementById('frames'),gs=root.getElementsByTagName('g');\n"
    " for(var i=0;i<gs.length;i++){var g=gs[i],r=g.getElementsByTagName('rect')[0],\n"
    "  tt=g.getElementsByTagName('title')[0].textContent.split('\\n');\n"
    "  var f={g:g,r:r,t:g.getElementsByTagName('text')[0]||null,x:+r.getAttribute('x'),\n"
    "   w:+r.getAttribute('width'),y:+r.getAttribute('y'),name:tt[0],info:tt.join(' \\u2014 '),\n"
    "   c:g.getAttribute('data-c')||'',fill:r.getAttribute('fill')};\n"
    "  g.__f=f;FR.push(f);}\n"
    " root.addEventListener('mouseover',function(e){var "
    "f=up(e.target);if(f)det.textContent=f.info;});\n"
    " root.addEventListener('mouseout',function(e){if(up(e.target))det.textContent=' ';});\n"
    " root.addEventListener('click',function(e){var f=up(e.target);if(f)zoom(f);});\n"
    " unz.addEventListener('click',unzoom);\n"
    " sbtn.addEventListener('click',function(){if(term===null)ask();else reset_search();});\n"
    " window.addEventListener('keydown',function(e){\n"
    "  if((e.ctrlKey||e.metaKey)&&e.key==='f'){e.preventDefault();ask();}\n"
    "  else if(e.key==='Escape'){unzoom();reset_search();}});\n"
    " var q=/[?&]s=([^&]*)/.exec(location.search);if(q)search(decodeURIComponent(q[1]));\n"
    "}\n"
    "function up(n){while(n&&n.nodeType===1){if(n.__f)return n.__f;n=n.parentNode;}return null;}\n"
    "function fmt(v){if(UNIT==='bytes'){return v>=1048576?(v/1048576).toFixed(1)+' MB':\n"
    " v>=1024?(v/1024).toFixed(1)+' kB':v.toFixed(0)+' B';}\n"
    " return v>=1e10?(v/1e9).toFixed(2)+' s':v>=1e6?(v/1e6).toFixed(1)+' ms':(v/1e6).toFixed(3)+' "
    "ms';}\n"
    "function fit(name,c,n){var a=Array.from(name),s=c?' '+c:'';\n"
    " if(a.length+s.length<=n)return name+s;if(n<3)return '';\n"
    " if(n-s.length>=3)return a.slice(0,n-s.length-2).join('')+'..'+s;\n"
    " if(c&&c.length<=n)return c;return a.slice(0,n-2).join('')+'..';}\n"
    "function label(f,x,w){var s=fit(f.name,f.c,Math.floor((w-6)/7.08));\n"
    " if(!f.t){if(!s)return;f.t=document.createElementNS('http://www.w3.org/2000/svg','text');\n"
    "  f.t.setAttribute('y',f.y+12);f.g.appendChild(f.t);}\n"
    " f.t.setAttribute('x',(x+3).toFixed(2));f.t.textContent=s;}\n"
    "function place(f,vis,x,w,par){\n"
    " if(!vis){f.g.setAttribute('class','hide');return;}\n"
    " f.g.setAttribute('class',par?'parent':'');f.r.setAttribute('x',x.toFixed(2));\n"
    " f.r.setAttribute('width',w.toFixed(2));label(f,x,w);}\n"
    "function zoom(z){zoomed=z;unz.setAttribute('class','btn');var sc=FW/z.w;\n"
    " for(var i=0;i<FR.length;i++){var f=FR[i];\n"
    "  if(f.y<=z.y){var inside=f.x>=z.x-EPS&&f.x+f.w<=z.x+z.w+EPS;\n"
    "   place(f,inside,XP+(f.x-z.x)*sc,f.w*sc,false);}\n"
    "  else place(f,f.x<=z.x+EPS&&f.x+f.w>=z.x+z.w-EPS,XP,FW,true);}\n"
    " S.setAttribute('data-zoom',z.name);}\n"
    "function unzoom(){if(zoomed===null)return;zoomed=null;unz.setAttribute('class','btn hide');\n"
    " for(var i=0;i<FR.length;i++)place(FR[i],true,FR[i].x,FR[i].w,false);\n"
    " S.removeAttribute('data-zoom');}\n"
    "function ask(){var t=prompt('Search for (a regular expression):',term||'');if(t)search(t);}\n"
    "function search(t){var re=null;try{re=new RegExp(t);}catch(e){}\n"
    " reset_search();var m=[];\n"
    " for(var i=0;i<FR.length;i++){var f=FR[i];\n"
    "  "
    "if(re?re.test(f.name):f.name.indexOf(t)>=0){m.push(f);f.r.setAttribute('fill','#e040e0');}}\n"
    " m.sort(function(a,b){return a.x-b.x||b.w-a.w;});\n"
    " var sum=0,end=-1;\n"
    " for(var k=0;k<m.length;k++){var e=m[k].x+m[k].w;\n"
    "  if(m[k].x>=end-EPS){sum+=m[k].w;end=e;}else if(e>end){sum+=e-end;end=e;}}\n"
    " term=t;sbtn.textContent='Reset Search';var share=FW>0?sum/FW:0;\n"
    " mat.textContent='Matched: '+(100*share).toFixed(1)+'% ('+fmt(share*TOTAL)+', '+m.length+\n"
    "  ' frame'+(m.length===1?'':'s')+')';}\n"
    "function reset_search(){for(var i=0;i<FR.length;i++)FR[i].r.setAttribute('fill',FR[i].fill);\n"
    " term=null;sbtn.textContent='Search';mat.textContent=' ';}\n";

/* A frame's label in its rect of wpx pixels: the name (cut with "..") and, differential, the
 * change; nothing when not even three characters fit. */
static void
put_label(FILE *out, const char *name, const char *change, double xpx, double wpx, double ypx)
{
    long fit = (long)floor((wpx - 6) / CHAR_PX);
    size_t n = u8_len(name), c = change[0] ? strlen(change) + 1 : 0;
    if (fit < 3)
        return;
    fprintf(out, "<text x=\"%.2f\" y=\"%.2f\">", xpx + 3, ypx + 12);
    if ((long)(n + c) <= fit) {
        xml_put(out, name, n);
        if (c)
            fprintf(out, " %s", change);
    } else if (fit - (long)c >= 3) {
        xml_put(out, name, (size_t)(fit - (long)c - 2));
        fputs("..", out);
        if (c)
            fprintf(out, " %s", change);
    } else if (c && (long)c - 1 <= fit) {
        fputs(change, out);
    } else {
        xml_put(out, name, (size_t)fit - 2);
        fputs("..", out);
    }
    fputs("</text>", out);
}

static int
write_doc(const struct profile *p, FILE *out, const struct fmt_write_opts *o, const double *base,
          double base_all, struct mp_err *e)
{
    size_t nn = profile_nnodes(p), nt = profile_nthreads(p);
    bool diff = base != NULL;
    bool bytes = p->meta.mode == PROFILE_HEAP;
    /* Per thread slot (threads with samples), each node's self weight. */
    uint32_t *slot = malloc((nt + 1) * sizeof *slot),
             *slot_thread = malloc((nt + 1) * sizeof *slot_thread);
    if (!slot || !slot_thread) {
        free(slot), free(slot_thread);
        return mp_err_oom(e, NULL);
    }
    size_t ns = 0;
    for (size_t t = 0; t < nt; t++)
        slot[t] = UINT32_MAX;
    const struct prof_sample *s = profile_samples(p);
    for (size_t i = 0; i < profile_nsamples(p); i++)
        if (s[i].thread < nt && s[i].node < nn && !fmt_skip_idle(p, o, &s[i]) &&
            slot[s[i].thread] == UINT32_MAX)
            slot[s[i].thread] = 0;
    for (size_t t = 0; t < nt; t++)
        if (slot[t] == 0)
            slot_thread[ns] = (uint32_t)t, slot[t] = (uint32_t)ns++;
    bool split = !diff && ns > 1; /* a frame per thread above "all" */
    size_t nslots = split ? ns : 1;
    /* The kept samples grouped by slot (a counting sort), so that one array of node weights
     * serves every thread in turn: memory O(nodes + samples), whatever the number of threads. */
    size_t nsamp = profile_nsamples(p);
    size_t *first = calloc(nslots + 1, sizeof *first);
    uint32_t *order = malloc((nsamp ? nsamp : 1) * sizeof *order);
    double *tot = malloc((nn ? nn : 1) * sizeof *tot);
    uint32_t *start = malloc((nn + 2) * sizeof *start), *list = malloc((nn + 1) * sizeof *list),
             *stack = malloc((nn + 1) * sizeof *stack), *sd = malloc((nn + 1) * sizeof *sd);
    double *sx = malloc((nn + 1) * sizeof *sx);
    struct frames fs = {0};
    int rc = 0;
    if (!first || !order || !tot || !start || !list || !stack || !sd || !sx) {
        rc = mp_err_oom(e, NULL);
        goto out;
    }
    double all = 0;
    for (size_t i = 0; i < nsamp; i++) {
        if (s[i].thread >= nt || s[i].node >= nn || fmt_skip_idle(p, o, &s[i]))
            continue;
        first[(split ? slot[s[i].thread] : 0) + 1]++;
        all += (double)s[i].weight_ns;
    }
    for (size_t k = 0; k < nslots; k++)
        first[k + 1] += first[k];
    for (size_t i = 0; i < nsamp; i++)
        if (s[i].thread < nt && s[i].node < nn && !fmt_skip_idle(p, o, &s[i]))
            order[first[split ? slot[s[i].thread] : 0]++] = (uint32_t)i;
    for (size_t k = nslots; k > 0; k--) /* first[k] now ends slot k's run: shift back */
        first[k] = first[k - 1];
    first[0] = 0;
    const struct prof_node *n = profile_nodes(p);
    double min_px = o && o->min_px > 0 ? o->min_px : MIN_PX;
    double fw = SVG_WIDTH - 2 * XPAD, minw = all * min_px / fw, scale = all > 0 ? fw / all : 0;
    bool cut = false;
    if (all > 0) {
        rc = push(&fs, (struct frame){.w = all, .base = diff ? base_all : 0, .kind = F_ALL});
        double x = 0;
        for (size_t k = 0; rc == 0 && k < nslots; k++) {
            /* This slot's inclusive weight per node: self weights, then each node into its
             * parent (parent < child). */
            memset(tot, 0, (nn ? nn : 1) * sizeof *tot);
            for (size_t j = first[k]; j < first[k + 1]; j++)
                tot[s[order[j]].node] += (double)s[order[j]].weight_ns;
            for (size_t i = nn; i-- > 1;)
                tot[n[i].parent] += tot[i];
            const double *t = tot;
            if (t[0] <= 0)
                continue;
            uint32_t depth = 1;
            if (split) {
                if (t[0] < minw) {
                    x += t[0];
                    continue;
                }
                rc = push(
                    &fs,
                    (struct frame){
                        .x = x, .w = t[0], .thread = slot_thread[k], .depth = 1, .kind = F_THREAD});
                depth = 2;
            }
            if (rc == 0)
                rc = lay_out(p, t, base, minw, x, depth, &fs, &cut, start, list, stack, sx, sd);
            x += t[0];
        }
        if (rc) {
            mp_err_oom(e, NULL);
            goto out;
        }
    }
    uint32_t maxd = 0;
    double maxdelta = 0;
    for (size_t i = 0; i < fs.n; i++) {
        if (fs.v[i].depth > maxd)
            maxd = fs.v[i].depth;
        if (diff && fabs(fs.v[i].w - fs.v[i].base) > maxdelta)
            maxdelta = fabs(fs.v[i].w - fs.v[i].base);
    }
    int height = TOP + (int)(maxd + 1) * FRAME_H + BOTTOM;
    char total_s[64];
    fmt_weight(total_s, sizeof total_s, all, bytes);

    /* The document: header, style, script, controls, then the frames. */
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" onload=\"init()\" data-xpad=\"%d\" "
            "data-total=\"%.0f\" data-unit=\"%s\" data-kind=\"%s\">\n",
            SVG_WIDTH, height, SVG_WIDTH, height, XPAD, all, bytes ? "bytes" : "ns",
            diff ? "differential" : "flame");
    fprintf(out, "<style type=\"text/css\">\n%s</style>\n", css);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", script);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fdfdf8\"/>\n");
    fprintf(out, "<text id=\"title\" x=\"%d\" y=\"18\">", SVG_WIDTH / 2);
    xml_put(out,
            o && o->title ? o->title
            : diff        ? "Differential flame graph"
                          : "Flame graph",
            SIZE_MAX);
    fputs("</text>\n", out);
    const char *mode = bytes ? "bytes" : p->meta.mode == PROFILE_WALL ? "wall time" : "CPU time";
    fprintf(out, "<text id=\"subtitle\" x=\"%d\" y=\"34\">", SVG_WIDTH / 2);
    if (diff) {
        char b[64];
        fmt_weight(b, sizeof b, base_all, bytes);
        fprintf(out,
                "widths: the new profile (%s of %s); red grew, blue shrank; labels: change of "
                "inclusive time against the base (%s%s)",
                total_s, mode, o->diff_absolute ? "as measured: " : "scaled to the new total: ", b);
    } else {
        fprintf(out, "%s of %s, %zu sample%s%s%s", total_s, mode, profile_nsamples(p),
                profile_nsamples(p) == 1 ? "" : "s",
                o && o->idle ? "" : "; (idle) left out (--idle keeps it)",
                split ? "; a frame per thread" : "");
    }
    if (cut)
        fprintf(out, "; stacks cut at depth %d", MAX_DEPTH);
    if (all <= 0)
        fputs(" \xE2\x80\x94 no samples to draw", out);
    fputs("</text>\n", out);
    fprintf(out,
            "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"18\">Reset Zoom</text>\n"
            "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"18\">Search</text>\n"
            "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
            "<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n<g id=\"frames\">\n",
            XPAD, SVG_WIDTH - XPAD, XPAD, height - 10, SVG_WIDTH - XPAD, height - 10);

    const struct prof_frame *fr = profile_frames(p);
    char w_s[64], b_s[64], colour[16], change[32], tname[300];
    for (size_t i = 0; i < fs.n; i++) {
        const struct frame *f = &fs.v[i];
        const char *name = "all", *file = "";
        int32_t line = 0;
        int fkind = FRAME_PSEUDO;
        if (f->kind == F_THREAD) {
            const struct prof_thread_info *th = &profile_threads(p)[f->thread];
            snprintf(tname, sizeof tname, "thread %s (%" PRId64 ")", profile_str(p, th->name),
                     th->tid);
            name = tname;
        } else if (f->kind == F_NODE) {
            const struct prof_frame *pf = &fr[n[f->node].frame];
            name = profile_str(p, pf->name);
            file = profile_str(p, pf->file);
            line = pf->line;
            fkind = pf->kind;
        }
        /* The edges are rounded to the hundredth of a pixel written, and the width is their
         * difference: rounding x and width each could put a callee's right edge 0.01 px past
         * its caller's, and the script's zoom, which keeps the frames that contain the zoomed
         * one, then hid the callers. Rounding is monotonic, so nesting survives it. */
        double left = round((XPAD + f->x * scale) * 100),
               right = round((XPAD + (f->x + f->w) * scale) * 100), xpx = left / 100,
               wpx = (right - left) / 100, ypx = height - BOTTOM - (double)(f->depth + 1) * FRAME_H;
        fmt_weight(w_s, sizeof w_s, f->w, bytes);
        change[0] = 0;
        if (diff) {
            fmt_change(change, sizeof change, f->w, f->base);
            diff_colour(colour, sizeof colour, f->w - f->base,
                        maxdelta > 0 ? fabs(f->w - f->base) / maxdelta : 0);
            fprintf(out, "<g data-c=\"%s\"><title>", change);
        } else {
            fmt_colour(colour, sizeof colour, f->kind, fkind, name);
            fputs("<g><title>", out);
        }
        xml_put(out, name, SIZE_MAX);
        putc('\n', out);
        if (file[0]) {
            xml_put(out, file, SIZE_MAX);
            if (line > 0)
                fprintf(out, ":%d", (int)line);
        } else {
            fputs(f->kind == F_NODE ? "(no source location)" : "", out);
        }
        fprintf(out, "\n%s, %.2f%%", w_s, 100.0 * f->w / all);
        if (diff) {
            fmt_weight(b_s, sizeof b_s, f->base, bytes);
            fprintf(out, "\nbase %s, %.2f%%; change %s (%+.2f points)", b_s,
                    base_all > 0 ? 100.0 * f->base / base_all : 0.0, change,
                    100.0 * (f->w - f->base) / all);
        }
        fprintf(out,
                "</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%d\" rx=\"2\" "
                "fill=\"%s\"/>",
                xpx, ypx, wpx, FRAME_H - 1, colour);
        put_label(out, name, change, xpx, wpx, ypx);
        fputs("</g>\n", out);
    }
    fputs("</g>\n</svg>\n", out);
    if (ferror(out))
        rc = mp_errf(e, -EIO, "write error");
out:
    free(slot), free(slot_thread), free(first), free(order), free(tot), free(start), free(list),
        free(stack), free(sd), free(sx), free(fs.v);
    return rc;
}

int
svg_write(const struct profile *p, FILE *out, const struct fmt_write_opts *o, struct mp_err *e)
{
    return write_doc(p, out, o, o ? o->diff_base : NULL, o ? o->diff_base_all : 0, e);
}
