#!/usr/bin/python3
"""Reads and drives a running virt-manager through AT-SPI (dogtail), for vctl's GUI tests.

Run with Debian's python3 in the session of the virt-manager under test (DISPLAY and
DBUS_SESSION_BUS_ADDRESS of its Xvfb and bus). Each command waits for what it needs up to
--timeout seconds and prints one JSON object on stdout, whatever happens: what it saw, and
"error" when it did not see what it waited for (exit status 1 then).

  vmm.py manager --expect NAME=STATE,...   the manager window's guest list
  vmm.py serial-open NAME                  the details window shows the serial console
  vmm.py serial-read NAME --wait TEXT      the VTE terminal's text, once it contains TEXT
  vmm.py graphics NAME                     the graphical console's widget and its screen area
  vmm.py snapshots NAME [--create S] [--revert S]
  vmm.py newvm NAME [--finish]             the New VM wizard (Manual install, no storage) up to its
                                           last page: the network it offers; --finish creates NAME
"""
import argparse
import json
import os
import sys
import time
import warnings

warnings.simplefilter('ignore')
import gi  # noqa: E402

gi.require_version('Atspi', '2.0')
from gi.repository import Atspi  # noqa: E402
import dogtail.config  # noqa: E402

# AT-SPI gives up on a call into virt-manager after 0.8 s by default ("timeout from dbind"); on a
# loaded machine virt-manager may take seconds to answer one.
Atspi.set_timeout(30000, 60000)

dogtail.config.config.checkForA11y = False
dogtail.config.config.logDebugToFile = False
dogtail.config.config.logDebugToStdOut = False
dogtail.config.config.searchBackoffDuration = 0.1
dogtail.config.config.searchCutoffCount = 5
dogtail.config.config.actionDelay = 0.1
dogtail.config.config.defaultDelay = 0.1
dogtail.config.config.searchShowingOnly = False
import dogtail.tree  # noqa: E402
from dogtail.predicate import GenericPredicate  # noqa: E402

sys.excepthook = sys.__excepthook__


class Failed(Exception):
    pass


def wait(what, fn, timeout):
    """Calls fn until it returns something truthy; AT-SPI errors count as 'not yet'."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Failed:
            raise
        except Exception as e:  # a node that went away while we looked at it
            last = e
        if time.monotonic() > end:
            raise Failed('timed out after %ss waiting for %s%s' % (timeout, what, ' (%s)' % last if last else ''))
        time.sleep(0.2)


def find_all(node, name=None, role=None, showing=None):
    """Descendants matching an exact name and role; None matches anything."""
    def pred(n):
        if role is not None and n.roleName != role:
            return False
        if name is not None and n.name != name:
            return False
        if showing is not None and n.showing != showing:
            return False
        return True
    return node.findChildren(pred)


def find_one(node, name=None, role=None, showing=None):
    found = find_all(node, name, role, showing)
    return found[0] if found else None


def labelled(win, label):
    """The widget a label names (a GTK mnemonic label: its accessible 'label for' relation)."""
    lab = find_one(win, label, 'label')
    return lab.labelee if lab is not None else None


def app(timeout):
    return wait('virt-manager on the accessibility bus', lambda: dogtail.tree.root.application('virt-manager'), timeout)


def top_window(a, prefix, timeout):
    def look():
        for w in a.children:
            if w.roleName in ('frame', 'dialog') and w.name.startswith(prefix):
                return w
    return wait('a window named %r' % prefix, look, timeout)


def details_window(a, vm, timeout):
    return top_window(a, '%s on ' % vm, timeout)


def click(node):
    """Activates a widget through its accessible action (no pointer needed)."""
    for action in ('click', 'press', 'activate', 'toggle'):
        if action in node.actions:
            node.doActionNamed(action)
            return
    raise Failed('%s %r has no click action (%s)' % (node.roleName, node.name, list(node.actions)))


def visible_errors(win):
    """Texts of showing labels that report an error, to say why a wait failed."""
    out = []
    for lab in find_all(win, role='label', showing=True):
        t = lab.name or ''
        if 'rror' in t or 'unsupported' in t or 'unknown procedure' in t or 'not supported' in t:
            out.append(t)
    return out


def fail_on_error(win, out, also=None):
    """Gives up at once when the window shows an error (waiting longer would not change it)."""
    errs = visible_errors(win)
    if also:
        errs += [lab.name for lab in find_all(win, role='label', showing=True) if also in (lab.name or '') and 'not support' in (lab.name or '')]
    out['errors'] = errs
    if errs:
        raise Failed('the window shows: %s' % ' | '.join(errs))


def cmd_manager(args, out):
    a = app(args.timeout)
    win = top_window(a, 'Virtual Machine Manager', args.timeout)
    vmlist = wait('the vm-list table', lambda: find_one(win, 'vm-list', 'tree table'), args.timeout)
    expect = dict(kv.split('=', 1) for kv in args.expect.split(',')) if args.expect else None

    def rows():
        seen = {}
        conn = None
        for cell in find_all(vmlist, role='table cell'):
            name = cell.name or ''
            if '\n' in name:
                vm, state = name.split('\n', 1)
                seen[vm] = state
            elif name.startswith('QEMU'):
                conn = name
        out['connection'] = conn
        out['vms'] = seen
        return seen

    wait('the guest list %r' % expect, lambda: rows() == expect if expect is not None else rows(), args.timeout)


def cmd_serial_open(args, out):
    a = app(args.timeout)
    win = details_window(a, args.vm, args.timeout)

    def term():
        t = find_one(win, role='terminal', showing=True)
        if t is None:
            fail_on_error(win, out)
        return t
    wait('the serial console terminal', term, args.timeout)
    out['terminal'] = True


def cmd_serial_read(args, out):
    a = app(args.timeout)
    win = details_window(a, args.vm, args.timeout)

    def text():
        t = find_one(win, role='terminal', showing=True)
        if t is None:
            out['errors'] = visible_errors(win)
            return None
        out['text'] = t.text or ''
        return args.wait in out['text']
    wait('%r in the serial console' % args.wait, text, args.timeout)


def cmd_graphics(args, out):
    a = app(args.timeout)
    win = details_window(a, args.vm, args.timeout)

    def viewer():
        vp = find_one(win, 'console-gfx-viewport', showing=True)
        if vp is None:
            fail_on_error(win, out)
            return None
        areas = [c for c in find_all(vp, showing=True) if c.roleName in ('drawing area', 'filler', 'panel', 'unknown')]
        x, y, w, h = vp.extents
        out['rect'] = {'x': x, 'y': y, 'width': w, 'height': h}
        return w > 16 and h > 16 and areas
    wait('the graphical console viewer', viewer, args.timeout)
    out.pop('errors', None)


def snapshot_names(win):
    lst = find_one(win, 'snapshot-list', 'table')
    if lst is None:
        return None
    names = []
    for cell in find_all(lst, role='table cell'):
        n = (cell.name or '').split('\n')[0].strip()
        if n:
            names.append(n)
    return names


def alert_click(a, text, button, timeout):
    def find():
        for w in a.children:
            if w.roleName == 'alert' and w.showing:
                labels = ' '.join(lab.name or '' for lab in find_all(w, role='label'))
                if text in labels:
                    return w
    alert = wait('an alert saying %r' % text, find, timeout)
    click(wait('the %r button' % button, lambda: find_one(alert, button, 'push button'), timeout))
    wait('the alert to close', lambda: not alert.showing, timeout)


def cmd_snapshots(args, out):
    a = app(args.timeout)
    win = details_window(a, args.vm, args.timeout)
    btn = wait('the Snapshots button', lambda: find_one(win, 'Snapshots', 'radio button'), args.timeout)
    try:
        wait('the Snapshots button to be sensitive', lambda: btn.sensitive, min(args.timeout, 10))
    except Failed:
        raise Failed('the Snapshots button stays insensitive: %r' % (btn.description or ''))
    click(btn)
    refresh = find_one(win, 'snapshot-refresh', 'push button')
    if refresh is not None and refresh.sensitive:
        click(refresh)

    def listed():
        names = snapshot_names(win)
        add = find_one(win, 'snapshot-add', 'push button', showing=True)
        if add is None or not add.sensitive:
            fail_on_error(win, out, 'snapshot')
            return None
        out['listed'] = names
        return names is not None
    wait('the snapshot list', listed, args.timeout)

    if args.create:
        click(find_one(win, 'snapshot-add', 'push button'))
        new = top_window(a, 'Create snapshot', args.timeout)
        entry = wait('the Name: entry', lambda: labelled(new, 'Name:'), args.timeout)
        entry.text = args.create
        click(find_one(new, 'Finish', 'push button'))

        def created():
            names = snapshot_names(win) or []
            if not new.showing and args.create in names:
                return names
            out['errors'] = visible_errors(new) + [w.name for w in a.children if w.roleName == 'alert' and w.showing]
        out['after_create'] = wait('snapshot %r in the list' % args.create, created, args.timeout)
        out.pop('errors', None)

    if args.revert:
        lst = find_one(win, 'snapshot-list', 'table')
        cell = wait('the %r row' % args.revert,
                    lambda: next((c for c in find_all(lst, role='table cell') if (c.name or '').split('\n')[0].strip() == args.revert), None),
                    args.timeout)
        # The rows' cells do not implement AT-SPI's Selection; a pointer click selects the row.
        cell.click()
        wait('the details of %r' % args.revert, lambda: find_one(win, "Snapshot '%s':" % args.revert, 'label', showing=True), args.timeout)
        # A pointer click: the button's handler runs a modal question in a nested main loop, so an
        # accessible action on it would not be answered before the question is.
        find_one(win, 'snapshot-start', 'push button').click()
        alert_click(a, "run the snapshot '%s'" % args.revert, 'Yes', args.timeout)
        out['reverted'] = args.revert


def forward(win, timeout):
    btn = wait('the Forward button', lambda: find_one(win, 'Forward', 'push button', showing=True), timeout)
    wait('the Forward button to be sensitive', lambda: btn.sensitive, timeout)
    click(btn)


def page_number(win):
    lab = find_one(win, 'pagenum-label', 'label')
    return lab.text if lab is not None else None


def wait_page(win, num, timeout):
    """The wizard's page label reads 'Step N of 5'."""
    def look():
        errs = [w for w in win.parent.children if w.roleName == 'alert' and w.showing]
        if errs:
            raise Failed('an alert shows: %s' % ' | '.join(lab.name or '' for w in errs for lab in find_all(w, role='label')))
        return ('%d of' % num) in (page_number(win) or '')
    wait('step %d of the wizard (now %r)' % (num, page_number(win)), look, timeout)


def selected_row(combo):
    """The text of a combo box's active row (its AT-SPI Selection: the active item of its menu)."""
    sel = combo.get_selection_iface()
    if sel is None or sel.get_n_selected_children() < 1:
        return None
    return sel.get_selected_child(0).get_name()


def cmd_newvm(args, out):
    a = app(args.timeout)
    mgr = top_window(a, 'Virtual Machine Manager', args.timeout)
    # The connection is open once its row shows in the list.
    vmlist = wait('the vm-list table', lambda: find_one(mgr, 'vm-list', 'tree table'), args.timeout)
    wait('the connection row', lambda: any((c.name or '').startswith('QEMU') for c in find_all(vmlist, role='table cell')), args.timeout)
    new = wait('the New button', lambda: find_one(mgr, 'New', 'push button'), args.timeout)
    click(new)
    win = top_window(a, 'New VM', args.timeout)
    wait_page(win, 1, args.timeout)
    manual = wait('the Manual install choice', lambda: find_one(win, 'Manual install', 'radio button', showing=True), args.timeout)
    wait('the Manual install choice to be sensitive', lambda: manual.sensitive, args.timeout)
    click(manual)
    wait('Manual install to be chosen', lambda: manual.checked, args.timeout)
    forward(win, args.timeout)
    wait_page(win, 2, args.timeout)
    # The OS: typing filters the list into a popover; activating the entry picks its first row.
    entry = wait('the OS entry', lambda: find_one(win, 'oslist-entry', showing=True), args.timeout)
    entry.text = 'generic'
    pop = wait('the OS popover', lambda: find_one(a, 'oslist-popover', showing=True) or find_one(win, 'oslist-popover', showing=True), args.timeout)
    oslist = wait('the OS list', lambda: find_one(pop, 'os-list'), args.timeout)
    cell = wait('a Generic row', lambda: next((c for c in find_all(oslist, role='table cell', showing=True) if 'eneric' in (c.name or '')), None), args.timeout)
    out['os'] = cell.name
    click(cell) if 'activate' in cell.actions else cell.doubleClick()
    wait('the OS to be chosen', lambda: (entry.text or '').startswith('Generic'), args.timeout)
    forward(win, args.timeout)
    wait_page(win, 3, args.timeout)
    forward(win, args.timeout)
    wait_page(win, 4, args.timeout)
    storage = wait('the Enable storage box', lambda: find_one(win, 'Enable storage for this virtual machine', 'check box', showing=True), args.timeout)
    if storage.checked:
        click(storage)
    wait('storage to be off', lambda: not storage.checked, args.timeout)
    forward(win, args.timeout)
    wait_page(win, 5, args.timeout)
    expander = wait('the Network selection expander', lambda: find_one(win, 'Network selection', 'toggle button', showing=True), args.timeout)
    if not expander.checked:
        click(expander)
    combo = wait('the network source list', lambda: find_one(win, 'net-source', 'combo box', showing=True), args.timeout)
    out['networks'] = [i.name for i in find_all(combo, role='menu item')]
    out['network'] = wait('the chosen network', lambda: selected_row(combo), args.timeout)
    out['warning'] = [lab.name for lab in find_all(win, role='label', showing=True) if 'suitable default network' in (lab.name or '')]
    if not args.finish:
        return
    name = wait('the Name entry', lambda: labelled(win, 'Name:'), args.timeout)
    name.text = args.vm
    click(wait('the Finish button', lambda: find_one(win, 'Finish', 'push button', showing=True), args.timeout))

    def done():
        alerts = [w for w in a.children if w.roleName == 'alert' and w.showing]
        if alerts:
            raise Failed('an alert shows: %s' % ' | '.join(lab.name or '' for w in alerts for lab in find_all(w, role='label')))
        return not win.showing
    wait('the wizard to create %r and close' % args.vm, done, args.timeout)
    out['created'] = args.vm


def dump(path):
    """Writes virt-manager's accessible tree (role, name, showing, sensitive) to path, for debugging."""
    lines = []

    def walk(n, depth):
        try:
            lines.append('%s[%s] %r%s%s' % ('  ' * depth, n.roleName, n.name, '' if n.showing else ' hidden', '' if n.sensitive else ' insensitive'))
            for c in n.children:
                walk(c, depth + 1)
        except Exception as e:
            lines.append('%s<%s>' % ('  ' * depth, e))
    try:
        walk(dogtail.tree.root.application('virt-manager'), 0)
    except Exception as e:
        lines.append('<%s>' % e)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


COMMANDS = {
    'manager': cmd_manager,
    'serial-open': cmd_serial_open,
    'serial-read': cmd_serial_read,
    'graphics': cmd_graphics,
    'snapshots': cmd_snapshots,
    'newvm': cmd_newvm,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('command', choices=sorted(COMMANDS))
    p.add_argument('vm', nargs='?')
    p.add_argument('--expect')
    p.add_argument('--wait', default='')
    p.add_argument('--create')
    p.add_argument('--revert')
    p.add_argument('--finish', action='store_true')
    p.add_argument('--timeout', type=float, default=60)
    args = p.parse_args()
    out = {}
    code = 0
    try:
        COMMANDS[args.command](args, out)
    except Failed as e:
        out['error'] = str(e)
        code = 1
        if os.environ.get('VMM_DUMP'):
            dump(os.environ['VMM_DUMP'])
    print(json.dumps(out))
    sys.stdout.flush()
    sys.exit(code)


if __name__ == '__main__':
    main()
