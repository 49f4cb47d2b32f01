const questions=["Tell me about yourself.","Why do you want this role?","Describe a problem you solved."];
const logoUrl="/assets/logo-5jUSKvvG.svg";
function render(i){const root=document.getElementById("root");
root.innerHTML='<img class="logo" alt="" src="'+logoUrl+'"><h1>Mensetsu practice</h1><p class="question">'+questions[i%questions.length]+'</p><button id="next">Next question</button>';
document.getElementById("next").addEventListener("click",()=>render(i+1));}
render(0);
//# sourceMappingURL=index-QHo2irMb.js.map
