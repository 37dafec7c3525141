def start_notebook(*args, **kwargs):
    return None

def rebuild(*args, **kwargs):
    return None

def check(checkpoint_id):
    print('PASS', checkpoint_id)
