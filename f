{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":[]}
