"""Our Pelican plugins, one package each; pelicanconf.py names them plugins.<name>.

A regular package (not a namespace one), so that no other folder called
plugins on sys.path can merge into it, and each plugin has one module name
for Pelican, blogkit and the tests alike.
"""
